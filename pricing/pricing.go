// Package pricing turns a model's token usage into US dollars: a table of
// prices per million tokens, keyed by model-name prefix, with built-in
// entries for current Anthropic and OpenAI models that the worker's
// configuration (MAESTRO_PRICES_FILE, see package config) extends or
// overrides.
package pricing

import (
	"strings"

	"github.com/maestrohq/maestro/run"
)

// Price is what a model costs, in US dollars per million tokens.
type Price struct {
	Input      float64 `json:"input" yaml:"input"`
	Output     float64 `json:"output" yaml:"output"`
	CacheRead  float64 `json:"cache_read,omitempty" yaml:"cache_read,omitempty"`
	CacheWrite float64 `json:"cache_write,omitempty" yaml:"cache_write,omitempty"`
}

// Table maps model-name prefixes to prices. The longest prefix of a
// model's name wins ("claude-opus-4-5" over "claude-opus-4").
type Table map[string]Price

// Builtin are the prices of a few current models, as their providers
// published them (USD per million tokens; standard tier, no batch or long
// context surcharge). Prices change: a worker overrides them, or adds
// models, with MAESTRO_PRICES_FILE.
var Builtin = Table{
	// Anthropic: cache writes are the 5-minute cache's.
	"claude-opus-4":   {Input: 15, Output: 75, CacheRead: 1.5, CacheWrite: 18.75},
	"claude-opus-4-5": {Input: 5, Output: 25, CacheRead: 0.5, CacheWrite: 6.25},
	"claude-sonnet-4": {Input: 3, Output: 15, CacheRead: 0.3, CacheWrite: 3.75},
	"claude-haiku-4":  {Input: 1, Output: 5, CacheRead: 0.1, CacheWrite: 1.25},
	// OpenAI: cached input is the cache read; writes cost nothing extra.
	"gpt-5":        {Input: 1.25, Output: 10, CacheRead: 0.125},
	"gpt-5-mini":   {Input: 0.25, Output: 2, CacheRead: 0.025},
	"gpt-5-nano":   {Input: 0.05, Output: 0.4, CacheRead: 0.005},
	"gpt-4.1":      {Input: 2, Output: 8, CacheRead: 0.5},
	"gpt-4.1-mini": {Input: 0.4, Output: 1.6, CacheRead: 0.1},
	"gpt-4.1-nano": {Input: 0.1, Output: 0.4, CacheRead: 0.025},
	"gpt-4o":       {Input: 2.5, Output: 10, CacheRead: 1.25},
	"gpt-4o-mini":  {Input: 0.15, Output: 0.6, CacheRead: 0.075},
	"o4-mini":      {Input: 1.1, Output: 4.4, CacheRead: 0.275},
}

// With returns the built-in table with overrides laid over it (an entry of
// overrides replaces the built-in entry of the same prefix).
func With(overrides Table) Table {
	t := make(Table, len(Builtin)+len(overrides))
	for k, v := range Builtin {
		t[k] = v
	}
	for k, v := range overrides {
		t[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return t
}

// Lookup returns the price of model: the entry of the longest prefix of its
// name (case-insensitive); false when none matches.
func (t Table) Lookup(model string) (Price, bool) {
	model = strings.ToLower(strings.TrimSpace(model))
	if model == "" {
		return Price{}, false
	}
	best, found := "", false
	var p Price
	for k, v := range t {
		if k != "" && strings.HasPrefix(model, strings.ToLower(k)) && (!found || len(k) > len(best)) {
			best, p, found = k, v, true
		}
	}
	return p, found
}

// Cost returns what the tokens of u cost at p.
func (p Price) Cost(u run.Usage) float64 {
	return (float64(u.InputTokens)*p.Input + float64(u.OutputTokens)*p.Output +
		float64(u.CacheReadTokens)*p.CacheRead + float64(u.CacheWriteTokens)*p.CacheWrite) / 1e6
}

// Fill sets u's cost from the table unless u already has one (a
// coding-agent CLI's own figure); a model without a price leaves it 0 and
// marks it unknown. A nil u or one without tokens is left alone.
func (t Table) Fill(u *run.Usage) {
	if u == nil || u.CostUSD > 0 || u.Tokens() == 0 {
		return
	}
	p, ok := t.Lookup(u.Model)
	if !ok {
		u.CostUnknown = true
		return
	}
	u.CostUSD = p.Cost(*u)
}

// Estimate returns what u would cost: its own figure, or the table's (0
// for a model without a price).
func (t Table) Estimate(u run.Usage) float64 {
	if u.CostUSD > 0 {
		return u.CostUSD
	}
	if p, ok := t.Lookup(u.Model); ok {
		return p.Cost(u)
	}
	return 0
}
