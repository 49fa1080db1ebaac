package run

import "unicode/utf8"

// Bounds of what a repair round shows in status.
const (
	// RepairTailBytes caps a round's output tail.
	RepairTailBytes = 1 << 10
	// RepairSummaryBytes caps a round's agent output summary.
	RepairSummaryBytes = OutputSummaryBytes
)

// RepairState is the state of one repair round.
type RepairState string

// The repair round states.
const (
	// RepairRunning: the agent is repairing.
	RepairRunning RepairState = "running"
	// RepairTesting: the agent's fix is committed; the command runs again
	// on it.
	RepairTesting RepairState = "testing"
	// RepairFixed: the command succeeded on the round's fix.
	RepairFixed RepairState = "fixed"
	// RepairUnfixed: the command failed again on the round's fix.
	RepairUnfixed RepairState = "unfixed"
	// RepairFailed: the agent failed; the node failed with it.
	RepairFailed RepairState = "failed"
	// RepairCancelled: the run ended during the round.
	RepairCancelled RepairState = "cancelled"
)

// RepairRound is one repair of a failing command of a workspace run, as
// status shows it: never file contents, only the failure's tail, the fix
// commit and a summary of what the agent said.
type RepairRound struct {
	// Round counts from 1.
	Round int         `json:"round"`
	State RepairState `json:"state"`
	// ExitCode and OutputTail are the command's failure the round repairs
	// (the end of its output, or its error message; at most
	// RepairTailBytes).
	ExitCode   *int   `json:"exit_code,omitempty"`
	OutputTail string `json:"output_tail,omitempty"`
	// Commit is the agent's fix, once committed (Changed false when the
	// agent changed nothing).
	Commit *Commit `json:"commit,omitempty"`
	// AgentOutput summarizes what the agent answered (at most
	// RepairSummaryBytes).
	AgentOutput string `json:"agent_output,omitempty"`
	// Error is why the agent failed.
	Error string `json:"error,omitempty"`
	// Usage is the repair agent's model and token usage; the run's usage
	// includes it.
	Usage *Usage `json:"usage,omitempty"`
}

// RepairContext is what a repair agent's activity is told about the
// failure it repairs; its prompt templates see it as .Params.repair.
type RepairContext struct {
	// Node is the command node; Round counts from 1, of MaxRounds.
	Node      string `json:"node"`
	Round     int    `json:"round"`
	MaxRounds int    `json:"max_rounds"`
	// Command is the command's argv, shell-quoted.
	Command string `json:"command"`
	// ExitCode is the command's exit code, when it exited.
	ExitCode *int `json:"exit_code,omitempty"`
	// OutputTail is what the command wrote: the tails of its stdout and
	// stderr as the worker capped them; Error is the failure's message.
	OutputTail string `json:"output_tail,omitempty"`
	Error      string `json:"error,omitempty"`
}

// Params returns c as the map prompt templates see as .Params.repair.
func (c RepairContext) Params() map[string]any {
	m := map[string]any{
		"node": c.Node, "round": c.Round, "max_rounds": c.MaxRounds,
		"command": c.Command, "output_tail": c.OutputTail, "error": c.Error,
		"exit_code": nil,
	}
	if c.ExitCode != nil {
		m["exit_code"] = *c.ExitCode
	}
	return m
}

// Tail returns at most n bytes of the end of s, cut at a rune boundary.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for i := 0; i < len(s) && i < utf8.UTFMax; i++ {
		if utf8.RuneStart(s[i]) {
			return s[i:]
		}
	}
	return s
}
