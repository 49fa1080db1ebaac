package pricing

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/maestrohq/maestro/run"
)

func TestLookupLongestPrefix(t *testing.T) {
	p, ok := Builtin.Lookup("claude-opus-4-5-20251101")
	assert.True(t, ok)
	assert.Equal(t, 5.0, p.Input)
	p, ok = Builtin.Lookup("Claude-Opus-4-1-20250805")
	assert.True(t, ok)
	assert.Equal(t, 15.0, p.Input)
	p, ok = Builtin.Lookup("gpt-4o-mini-2024-07-18")
	assert.True(t, ok)
	assert.Equal(t, 0.15, p.Input)
	_, ok = Builtin.Lookup("llama-3")
	assert.False(t, ok)
	_, ok = Builtin.Lookup("")
	assert.False(t, ok)
}

func TestFill(t *testing.T) {
	tab := With(Table{"fake-model": {Input: 2, Output: 10, CacheRead: 1, CacheWrite: 4}, "GPT-5": {Input: 9, Output: 9}})
	u := &run.Usage{Model: "fake-model-1", InputTokens: 1_000_000, OutputTokens: 100_000, CacheReadTokens: 10, CacheWriteTokens: 10}
	tab.Fill(u)
	assert.InDelta(t, 2+1+0.00001+0.00004, u.CostUSD, 1e-12)
	assert.False(t, u.CostUnknown)

	own := &run.Usage{Model: "fake-model", InputTokens: 5, CostUSD: 0.5}
	tab.Fill(own)
	assert.Equal(t, 0.5, own.CostUSD, "a CLI's own cost stays")

	unknown := &run.Usage{Model: "mystery", InputTokens: 5}
	tab.Fill(unknown)
	assert.Zero(t, unknown.CostUSD)
	assert.True(t, unknown.CostUnknown)

	p, _ := tab.Lookup("gpt-5-2025")
	assert.Equal(t, 9.0, p.Input, "overrides replace built-in entries")
	tab.Fill(nil)
}
