package dag

import (
	"slices"
	"strings"
)

// AgentPreset is a coding-agent CLI that an agent node of the command
// provider can name instead of writing its argv: the program and the
// arguments that run it headless, allowed to edit files in its working
// directory, printing a report Maestro reads (the answer, and token usage
// and cost where the CLI reports them).
type AgentPreset struct {
	// Program is the CLI (looked up in PATH); the worker policy must allow
	// it.
	Program string
	// Args follow the program; the prompt goes on stdin unless Args hold
	// PromptArg.
	Args []string
	// ModelFlag passes the node's model, when it names one, after the
	// first ModelAfter arguments (after a subcommand).
	ModelFlag  string
	ModelAfter int
}

// PromptArg in an argv is replaced by the prompt.
const PromptArg = "{{prompt}}"

// The agent presets.
const (
	// PresetClaudeCode is Claude Code: `claude -p --output-format json
	// --permission-mode acceptEdits`; its JSON result carries the answer,
	// token usage and total_cost_usd.
	PresetClaudeCode = "claude-code"
	// PresetCodex is OpenAI's Codex CLI: `codex exec --json --full-auto -`;
	// its JSONL events carry the answer (agent_message items) and token
	// usage (turn.completed).
	PresetCodex = "codex"
	// PresetAider is aider: `aider --yes-always --no-auto-commits
	// --no-pretty --no-stream --message <prompt>`; its "Tokens: …, Cost:
	// …" line carries usage and cost.
	PresetAider = "aider"
)

// AgentPresets are the presets by name.
var AgentPresets = map[string]AgentPreset{
	PresetClaudeCode: {Program: "claude", Args: []string{"-p", "--output-format", "json", "--permission-mode", "acceptEdits"}, ModelFlag: "--model"},
	PresetCodex:      {Program: "codex", Args: []string{"exec", "--json", "--full-auto", "--skip-git-repo-check", "-"}, ModelFlag: "--model", ModelAfter: 1},
	PresetAider:      {Program: "aider", Args: []string{"--yes-always", "--no-auto-commits", "--no-pretty", "--no-stream", "--no-check-update", "--message", PromptArg}, ModelFlag: "--model"},
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(AgentPresets))
	for n := range AgentPresets {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Argv returns the preset's argv for a node with the given model ("" for
// the CLI's default).
func (p AgentPreset) Argv(model string) []string {
	argv := append([]string{p.Program}, p.Args[:p.ModelAfter]...)
	if model != "" && p.ModelFlag != "" {
		argv = append(argv, p.ModelFlag, model)
	}
	return append(argv, p.Args[p.ModelAfter:]...)
}

// CommandArgv returns the program an agent node of the command provider
// runs, with its arguments: its preset's (with its model) or its argv. It
// is what the worker policy checks.
func (s *AgentSpec) CommandArgv() []string {
	if p, ok := AgentPresets[s.Preset]; ok {
		return p.Argv(s.Model)
	}
	return s.Argv
}

// validatePreset checks a preset node: a known preset without argv of its
// own (applies keeps presets to the command provider).
func (s *AgentSpec) validatePreset(ps *problems) {
	if s.Preset == "" {
		return
	}
	if _, ok := AgentPresets[s.Preset]; !ok {
		ps.add("preset", "unknown preset %q (one of %s)", s.Preset, strings.Join(PresetNames(), ", "))
	}
	if len(s.Argv) > 0 {
		ps.add("argv", "give a preset or argv, not both")
	}
}
