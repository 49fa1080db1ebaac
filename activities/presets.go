package activities

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// ErrTypeAgentFailed: a coding-agent CLI reported that its session failed
// (an error result, a failed turn); retryable.
const ErrTypeAgentFailed = "AgentFailed"

// presetReport is what a coding-agent CLI's output says: its answer, and its
// token usage and cost where it reports them.
type presetReport struct {
	text  string
	usage *run.Usage
}

// presetParsers read each preset's output.
var presetParsers = map[string]func(out []byte) (presetReport, error){
	dag.PresetClaudeCode: parseClaudeCode,
	dag.PresetCodex:      parseCodex,
	dag.PresetAider:      parseAider,
}

// runPreset runs a coding-agent CLI preset in the node's directory (the
// checkout, in a workspace run) and turns its report into the node's
// output and usage.
func (a *Activities) runPreset(ctx context.Context, in run.NodeInput, e *dag.AgentSpec, c agentCall, system, user string) (run.NodeResult, error) {
	res, err := a.runAgentCommand(ctx, in, e.Process, c, system, user)
	if err != nil {
		return res, err
	}
	parse, ok := presetParsers[c.preset]
	if !ok {
		return run.NodeResult{}, configError("agent: unknown preset %q", c.preset)
	}
	out := res.Full
	if len(out) == 0 {
		out = []byte(res.Output)
	}
	rep, err := parse(out)
	if err != nil {
		return run.NodeResult{}, err
	}
	if rep.usage != nil && rep.usage.Model == "" {
		rep.usage.Model = c.model
	}
	text := res.Output
	if rep.text != "" {
		text = rep.text
	}
	r := a.output([]byte(text), len(text))
	r.ExitCode = res.ExitCode
	r.Usage = rep.usage
	return r, nil
}

// claudeResult is the JSON object `claude -p --output-format json` prints
// when it ends.
type claudeResult struct {
	Type         string  `json:"type"`
	Subtype      string  `json:"subtype"`
	IsError      bool    `json:"is_error"`
	Result       string  `json:"result"`
	NumTurns     int     `json:"num_turns"`
	TotalCostUSD float64 `json:"total_cost_usd"`
	Usage        struct {
		InputTokens              int `json:"input_tokens"`
		OutputTokens             int `json:"output_tokens"`
		CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	} `json:"usage"`
}

// parseClaudeCode reads Claude Code's result object (the last JSON object
// printed, so that stray lines before it do not matter).
func parseClaudeCode(out []byte) (presetReport, error) {
	var r claudeResult
	found := false
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var cand claudeResult
		if json.Unmarshal(bytes.TrimSpace(line), &cand) == nil && cand.Type == "result" {
			r, found = cand, true
		}
	}
	if !found {
		if json.Unmarshal(bytes.TrimSpace(out), &r) != nil || r.Type != "result" {
			return presetReport{}, &nodeError{typ: ErrTypeAgentResponse, nonRetryable: true,
				msg: fmt.Sprintf("claude-code printed no JSON result (is `claude` Claude Code?): %s", capText(string(out), 300))}
		}
	}
	u := &run.Usage{InputTokens: r.Usage.InputTokens, OutputTokens: r.Usage.OutputTokens,
		CacheReadTokens: r.Usage.CacheReadInputTokens, CacheWriteTokens: r.Usage.CacheCreationInputTokens, CostUSD: r.TotalCostUSD}
	if r.IsError || (r.Subtype != "" && r.Subtype != "success") {
		return presetReport{}, &nodeError{typ: ErrTypeAgentFailed,
			msg: fmt.Sprintf("claude-code ended with %s after %d turns: %s", cmpOr(r.Subtype, "an error"), r.NumTurns, capText(r.Result, 500))}
	}
	return presetReport{text: r.Result, usage: u}, nil
}

// codexEvent is one line of `codex exec --json`.
type codexEvent struct {
	Type string `json:"type"`
	Item struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"item"`
	Usage *struct {
		InputTokens       int `json:"input_tokens"`
		CachedInputTokens int `json:"cached_input_tokens"`
		OutputTokens      int `json:"output_tokens"`
	} `json:"usage"`
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
	Message string `json:"message"`
}

// parseCodex reads Codex's JSONL events: the agent's messages are the
// answer, turn.completed events carry usage, turn.failed and error events
// fail the node. Lines that are not JSON are skipped.
func parseCodex(out []byte) (presetReport, error) {
	var rep presetReport
	var msgs []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), len(out)+1)
	events := 0
	for sc.Scan() {
		var ev codexEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Type == "" {
			continue
		}
		events++
		switch ev.Type {
		case "item.completed":
			if ev.Item.Type == "agent_message" && ev.Item.Text != "" {
				msgs = append(msgs, ev.Item.Text)
			}
		case "turn.completed":
			if ev.Usage != nil {
				if rep.usage == nil {
					rep.usage = &run.Usage{}
				}
				rep.usage.InputTokens += ev.Usage.InputTokens
				rep.usage.CacheReadTokens += ev.Usage.CachedInputTokens
				rep.usage.OutputTokens += ev.Usage.OutputTokens
			}
		case "turn.failed", "error":
			msg := ev.Message
			if ev.Error != nil && ev.Error.Message != "" {
				msg = ev.Error.Message
			}
			return presetReport{}, &nodeError{typ: ErrTypeAgentFailed, msg: "codex: " + cmpOr(msg, ev.Type)}
		}
	}
	if events == 0 {
		return presetReport{}, &nodeError{typ: ErrTypeAgentResponse, nonRetryable: true,
			msg: fmt.Sprintf("codex printed no JSON events (is `codex` the Codex CLI?): %s", capText(string(out), 300))}
	}
	rep.text = strings.Join(msgs, "\n\n")
	return rep, nil
}

// aiderTokens matches aider's report after each message, e.g.
// "Tokens: 2.3k sent, 150 received. Cost: $0.0012 message, $0.0034 session."
var aiderTokens = regexp.MustCompile(`Tokens: ([\d.,]+)(k?) sent(?:, [\d.,]+k? cache (?:write|hit))*, ([\d.,]+)(k?) received\.(?: Cost: \$([\d.]+) message)?`)

// parseAider reads aider's token and cost lines; the answer is its whole
// output.
func parseAider(out []byte) (presetReport, error) {
	rep := presetReport{text: string(out)}
	for _, m := range aiderTokens.FindAllSubmatch(out, -1) {
		if rep.usage == nil {
			rep.usage = &run.Usage{}
		}
		rep.usage.InputTokens += aiderCount(m[1], m[2])
		rep.usage.OutputTokens += aiderCount(m[3], m[4])
		if len(m[5]) > 0 {
			cost, _ := strconv.ParseFloat(string(m[5]), 64)
			rep.usage.CostUSD += cost
		}
	}
	return rep, nil
}

// aiderCount turns "2.3" "k" into 2300.
func aiderCount(num, k []byte) int {
	f, _ := strconv.ParseFloat(strings.ReplaceAll(string(num), ",", ""), 64)
	if len(k) > 0 {
		f *= 1000
	}
	return int(f + 0.5)
}
