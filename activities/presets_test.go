package activities

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/policy"
)

// fakeCLI installs a script named name in a new directory and returns the
// directory, to be the worker's PATH. The script records its arguments and
// stdin in <dir>/<name>.args and <dir>/<name>.stdin.
func fakeCLI(t *testing.T, name, body string) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/" + name + ".args\"\n" + body
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755))
	return dir
}

// The outputs the CLIs document: Claude Code's JSON result, Codex's JSONL
// events, aider's token report.
const (
	claudeOut = `{"type":"result","subtype":"success","is_error":false,"duration_ms":2310,"num_turns":4,"result":"Added the handler and its test.","session_id":"s-1","total_cost_usd":0.0421,"usage":{"input_tokens":1200,"cache_creation_input_tokens":300,"cache_read_input_tokens":5000,"output_tokens":450}}`
	codexOut  = `{"type":"thread.started","thread_id":"th_1"}
{"type":"turn.started"}
{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"thinking"}}
{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"go test ./...","status":"completed"}}
{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"Fixed the failing test."}}
{"type":"turn.completed","usage":{"input_tokens":2400,"cached_input_tokens":1800,"output_tokens":320}}`
	aiderOut = `Aider v0.86.1
Applied edit to main.go
Tokens: 2.3k sent, 150 received. Cost: $0.0012 message, $0.0012 session.
Applied edit to main_test.go
Tokens: 3.1k sent, 1.2k cache hit, 210 received. Cost: $0.0020 message, $0.0032 session.`
)

func TestAgentPresets(t *testing.T) {
	for _, tc := range []struct {
		preset, program, model string
		out                    string
		wantArgs               []string
		wantOutput             string
		wantIn, wantOut        int
		wantCacheRead          int
		wantCost               float64
	}{
		{dag.PresetClaudeCode, "claude", "claude-sonnet-4-5", claudeOut,
			[]string{"--model", "claude-sonnet-4-5", "-p", "--output-format", "json", "--permission-mode", "acceptEdits"},
			"Added the handler and its test.", 1200, 450, 5000, 0.0421},
		{dag.PresetCodex, "codex", "gpt-5-codex", codexOut,
			[]string{"exec", "--model", "gpt-5-codex", "--json", "--full-auto", "--skip-git-repo-check", "-"},
			"Fixed the failing test.", 2400, 320, 1800, 0},
		{dag.PresetAider, "aider", "", aiderOut,
			[]string{"--yes-always", "--no-auto-commits", "--no-pretty", "--no-stream", "--no-check-update", "--message"},
			aiderOut + "\n", 5400, 360, 0, 0.0032},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			dir := fakeCLI(t, tc.program, "cat > \"$(dirname \"$0\")/"+tc.program+".stdin\"\ncat <<'EOF'\n"+tc.out+"\nEOF\n")
			pol := policy.Default()
			pol.Kinds = append(pol.Kinds, dag.KindCommand)
			pol.Commands = []policy.Command{{Program: tc.program}}
			h := newHarness(t, withEnv(map[string]string{"PATH": dir + ":/usr/bin:/bin"}), withConfig(func(c *Config) { c.Policy = pol }))
			res := h.mustRun(agentNode("impl", "backend", dag.AgentSpec{Provider: dag.ProviderCommand, Preset: tc.preset, Model: tc.model}),
				withParams(map[string]any{"requirement": "Build a todo app"}))
			assert.Equal(t, tc.wantOutput, res.Output)
			require.NotNil(t, res.Usage)
			assert.Equal(t, tc.wantIn, res.Usage.InputTokens)
			assert.Equal(t, tc.wantOut, res.Usage.OutputTokens)
			assert.Equal(t, tc.wantCacheRead, res.Usage.CacheReadTokens)
			assert.InDelta(t, tc.wantCost, res.Usage.CostUSD, 1e-9)
			assert.Equal(t, tc.model, res.Usage.Model)

			args, err := os.ReadFile(filepath.Join(dir, tc.program+".args"))
			require.NoError(t, err)
			got := splitLines(string(args))
			require.GreaterOrEqual(t, len(got), len(tc.wantArgs))
			assert.Equal(t, tc.wantArgs, got[:len(tc.wantArgs)])
			if tc.preset == dag.PresetAider {
				assert.Contains(t, string(args), "Build a todo app", "aider gets the prompt as --message")
			} else {
				stdin, err := os.ReadFile(filepath.Join(dir, tc.program+".stdin"))
				require.NoError(t, err)
				assert.Contains(t, string(stdin), "Build a todo app", "the prompt goes on stdin")
			}
		})
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// A CLI that reports a failed session fails the node (retryable); one that
// is not the CLI the preset names fails it for good; a preset whose program
// the policy does not allow is refused before it runs.
func TestAgentPresetFailures(t *testing.T) {
	allow := func(prog string) harnessOpt {
		pol := policy.Default()
		pol.Kinds = append(pol.Kinds, dag.KindCommand)
		pol.Commands = []policy.Command{{Program: prog}}
		return withConfig(func(c *Config) { c.Policy = pol })
	}
	node := func(preset string) dag.Node {
		return agentNode("impl", "", dag.AgentSpec{Provider: dag.ProviderCommand, Preset: preset})
	}
	failed := fakeCLI(t, "claude", `echo '{"type":"result","subtype":"error_max_turns","is_error":true,"num_turns":30,"result":"ran out of turns","total_cost_usd":0.5,"usage":{}}'`)
	_, err := newHarness(t, withEnv(map[string]string{"PATH": failed + ":/usr/bin:/bin"}), allow("claude")).run(node(dag.PresetClaudeCode))
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	assert.Equal(t, ErrTypeAgentFailed, appErr.Type())
	assert.False(t, appErr.NonRetryable())
	assert.Contains(t, appErr.Error(), "error_max_turns")

	wrong := fakeCLI(t, "codex", `echo "codex 0.1 (not the one you think)"`)
	_, err = newHarness(t, withEnv(map[string]string{"PATH": wrong + ":/usr/bin:/bin"}), allow("codex")).run(node(dag.PresetCodex))
	require.True(t, errors.As(err, &appErr), "%v", err)
	assert.Equal(t, ErrTypeAgentResponse, appErr.Type())
	assert.True(t, appErr.NonRetryable())

	ok := fakeCLI(t, "aider", `echo done`)
	_, err = newHarness(t, withEnv(map[string]string{"PATH": ok + ":/usr/bin:/bin"}), allow("claude")).run(node(dag.PresetAider))
	require.True(t, errors.As(err, &appErr), "%v", err)
	assert.Equal(t, ErrTypePolicyDenied, appErr.Type())
	assert.Contains(t, appErr.Error(), `"aider"`)
}
