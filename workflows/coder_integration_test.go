package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/fakellm"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
	"github.com/maestrohq/maestro/workspace"
)

// call is a scripted tool call of the fake model.
func call(id, name string, input any) fakellm.ToolCall {
	data, err := json.Marshal(input)
	if err != nil {
		panic(err)
	}
	return fakellm.ToolCall{ID: id, Name: name, Input: data}
}

// coderEnv is a workspace Env whose worker's agents call srv as provider.
func coderEnv(t *testing.T, provider, base string) (*testenv.Env, string) {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "app.git")
	_, err := workspace.Init(context.Background(), "", repo)
	require.NoError(t, err)
	e := server.New(t, testenv.WithWorkspaces(""), testenv.WithActivities(activities.Config{
		Getenv: func(k string) string {
			if k == activities.DefaultAnthropicKey || k == activities.DefaultOpenAIKey {
				return fakeKey
			}
			return os.Getenv(k)
		},
		Agent: activities.AgentDefaults{Provider: provider, Model: "coder-test", BaseURL: base},
	}))
	return e, repo
}

// An agent node of a model API provider in a workspace run is a coding
// agent: the model's tool calls edit the checkout (escapes refused and
// reported back to it), its finish summary is the node's output, and what it
// wrote is the node's commit. Both providers, through their official SDKs.
func TestCodingAgentChangesTheCheckout(t *testing.T) {
	for _, provider := range []string{dag.ProviderAnthropic, dag.ProviderOpenAI} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var seen []fakellm.Request
			srv := fakellm.New(t, fakeKey, func(_ *http.Request, r fakellm.Request) fakellm.Reply {
				mu.Lock()
				seen = append(seen, r)
				turn := len(seen)
				mu.Unlock()
				switch turn {
				case 1:
					return fakellm.Reply{InputTokens: 100, OutputTokens: 20, ToolCalls: []fakellm.ToolCall{
						call("c1", "write_file", map[string]any{"path": "cmd/hello/main.go", "content": "package main\n\nfunc main() {}\n"}),
						call("c2", "read_file", map[string]any{"path": "../../etc/passwd"}),
						call("c3", "write_file", map[string]any{"path": ".git/config", "content": "x"}),
					}}
				case 2:
					return fakellm.Reply{InputTokens: 150, OutputTokens: 30, ToolCalls: []fakellm.ToolCall{
						call("c4", "run", map[string]any{"argv": []string{"sh", "-c", "ls cmd/hello; exit 3"}}),
					}}
				default:
					return fakellm.Reply{InputTokens: 200, OutputTokens: 10, ToolCalls: []fakellm.ToolCall{
						call("c5", "finish", map[string]any{"summary": "Added cmd/hello."}),
					}}
				}
			})
			e, repo := coderEnv(t, provider, srv.URL)
			p := &dag.Pipeline{Name: "coder", Mode: dag.ModeDAGParallel, Workspace: &dag.Workspace{Repo: repo},
				Nodes: []dag.Node{{ID: "impl", Phase: "backend", Executor: dag.NewExecutor(&dag.AgentSpec{})}}}
			st := runToEnd(t, e, runs.StartRequest{DAG: p, Requirement: "Add a hello command"})
			require.Equal(t, run.Completed, st.Status, st.Error)

			n := st.Node("impl")
			assert.Equal(t, "Added cmd/hello.", n.Output)
			require.NotNil(t, n.Commit)
			assert.True(t, n.Commit.Changed)
			assert.Equal(t, "cmd/hello/main.go", git(t, repo, "diff", "--name-only", n.Commit.Base, n.Commit.SHA),
				"only what the agent wrote; no answer file, nothing in .git")
			require.NotNil(t, n.Usage)
			assert.Equal(t, 450, n.Usage.InputTokens)
			assert.Equal(t, 60, n.Usage.OutputTokens)

			require.Len(t, seen, 3)
			var names []string
			for _, tool := range seen[0].Tools {
				names = append(names, tool.Name)
			}
			assert.Equal(t, []string{"list_files", "read_file", "write_file", "edit_file", "delete_file", "run", "finish"}, names)
			assert.Contains(t, seen[0].System, "call finish")
			assert.Contains(t, seen[0].User, "Add a hello command")
			// The second request answers the first turn's calls, in order;
			// the escapes are refused and the model is told.
			last := seen[1].Messages[len(seen[1].Messages)-1]
			require.Len(t, last.Results, 3)
			assert.False(t, last.Results[0].IsError, last.Results[0].Output)
			if provider == dag.ProviderAnthropic { // OpenAI's tool messages have no error flag
				assert.True(t, last.Results[1].IsError)
				assert.True(t, last.Results[2].IsError)
			}
			assert.Contains(t, last.Results[1].Output, "outside the checkout")
			assert.Contains(t, last.Results[2].Output, ".git")
			// The program ran in the checkout; its exit code is reported.
			ran := seen[2].Messages[len(seen[2].Messages)-1].Results[0]
			assert.Contains(t, ran.Output, "main.go")
			assert.Contains(t, ran.Output, "exit code 3")
		})
	}
}

// A running coding agent's progress (its turn and what it is doing) shows in
// the run's status while it works.
func TestCodingAgentReportsProgress(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	turns := 0
	srv := fakellm.New(t, fakeKey, func(_ *http.Request, r fakellm.Request) fakellm.Reply {
		mu.Lock()
		turns++
		turn := turns
		mu.Unlock()
		if turn == 1 {
			return fakellm.Reply{InputTokens: 10, OutputTokens: 5, ToolCalls: []fakellm.ToolCall{
				call("c1", "run", map[string]any{"argv": []string{"sleep", "4"}}),
			}}
		}
		return fakellm.Reply{Text: "done waiting", InputTokens: 10, OutputTokens: 5}
	})
	e, repo := coderEnv(t, dag.ProviderAnthropic, srv.URL)
	p := &dag.Pipeline{Name: "progress", Mode: dag.ModeDAGParallel, Workspace: &dag.Workspace{Repo: repo},
		Nodes: []dag.Node{{ID: "impl", Executor: dag.NewExecutor(&dag.AgentSpec{})}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	st := waitFor(t, e, started.WorkflowID, "the agent's progress", func(st *run.Status) bool {
		n := st.Node("impl")
		return n.Progress != nil && strings.HasPrefix(n.Progress.Step, "run sleep 4")
	})
	assert.Equal(t, 1, st.Node("impl").Progress.Turn)
	final, err := e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, final.Status, final.Error)
	assert.Equal(t, "done waiting", final.Node("impl").Output)
	assert.Nil(t, final.Node("impl").Progress, "a finished node reports no progress")
}

// In a workspace run the phases' roles say where their work goes, and the
// review phase is shown the run's changes so far.
func TestReviewAgentSeesTheRunsDiff(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []fakellm.Request
	srv := fakellm.New(t, fakeKey, func(_ *http.Request, r fakellm.Request) fakellm.Reply {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		return fakellm.Reply{ToolCalls: []fakellm.ToolCall{
			call("c1", "write_file", map[string]any{"path": "REVIEW.md", "content": "Looks fine.\nVerdict: approve\n"}),
			call("c2", "finish", map[string]any{"summary": "Approved."}),
		}}
	})
	e, repo := coderEnv(t, dag.ProviderAnthropic, srv.URL)
	p := &dag.Pipeline{Name: "review", Mode: dag.ModeDAGParallel, Workspace: &dag.Workspace{Repo: repo}, Nodes: []dag.Node{
		writes("impl", "api/handler.go", "package api"),
		{ID: "review", Phase: "review", DependsOn: []string{"impl"}, Executor: dag.NewExecutor(&dag.AgentSpec{})},
	}}
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Completed, st.Status, st.Error)
	require.Len(t, seen, 1)
	assert.Contains(t, seen[0].System, "git checkout")
	assert.Contains(t, seen[0].User, "Write REVIEW.md")
	assert.Contains(t, seen[0].User, "+++ b/api/handler.go", "the review sees the run's diff")
	assert.Contains(t, seen[0].User, "+package api")
	assert.Equal(t, "Looks fine.\nVerdict: approve", git(t, repo, "show", st.Workspace.Head+":REVIEW.md"))
}

// The sdlc-parallel template in a workspace with coding agents (a fake model
// answering each phase's role with tool calls): the branch has the docs, the
// code and the tests; the verify node's first test run fails, one repair
// round fixes it, go test passes on the branch, and the review saw the run's
// diff.
func TestSDLCTemplateWithCodingAgentsDeliversWorkingSoftware(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not installed")
	}
	demo := func(name string) string {
		data, err := os.ReadFile(filepath.Join("..", "activities", "demo", name))
		require.NoError(t, err)
		return strings.ReplaceAll(string(data), "{{REQUIREMENT}}", "Build a todo app")
	}
	files := map[string][][2]string{
		"requirements": {{"docs/requirements.md", demo("requirements.md")}},
		"design":       {{"docs/design.md", demo("design.md")}},
		"backend":      {{"go.mod", demo("go.mod.txt")}, {"todo/todo.go", demo("todo.go.txt")}, {"cmd/todo/main.go", demo("main.go.txt")}},
		"frontend":     {{"web/index.html", demo("index.html")}},
		"testing":      {{"todo/todo_test.go", demo("todo_test.go.txt")}},
		"review":       {{"REVIEW.md", "Verdict: approve\n"}},
		"deployment":   {{"DEPLOY.md", "Ready to merge.\n"}},
		"repair":       {{"todo/todo.go", demo("todo_fixed.go.txt")}},
	}
	var mu sync.Mutex
	prompts := map[string]string{}
	srv := fakellm.New(t, fakeKey, func(_ *http.Request, r fakellm.Request) fakellm.Reply {
		phase := phaseOf(r.System)
		if strings.HasPrefix(r.System, "You fix a failing build") {
			phase = "repair"
		}
		mu.Lock()
		prompts[phase] = r.User
		mu.Unlock()
		var calls []fakellm.ToolCall
		for i, f := range files[phase] {
			calls = append(calls, call(fmt.Sprintf("w%d", i), "write_file", map[string]any{"path": f[0], "content": f[1]}))
		}
		calls = append(calls, call("done", "finish", map[string]any{"summary": phase + " done"}))
		return fakellm.Reply{ToolCalls: calls, InputTokens: 100, OutputTokens: 50}
	})
	e, repo := coderEnv(t, dag.ProviderAnthropic, srv.URL)
	st := runToEnd(t, e, runs.StartRequest{Template: templates.SDLCParallel, Requirement: "Build a todo app",
		Workspace: &dag.Workspace{Repo: repo}, Params: map[string]any{runs.TestCommandParam: gobin + " test ./..."}})
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.False(t, st.Simulated)

	verify := st.Node(runs.VerifyNodeID)
	require.Len(t, verify.Repairs, 1, "the first test run fails, one repair fixes it")
	assert.Equal(t, run.RepairFixed, verify.Repairs[0].State)
	assert.Contains(t, prompts["repair"], "want it trimmed", "the repair agent was shown the failing test's output")
	assert.Contains(t, prompts["review"], "+++ b/todo/todo.go", "the review saw the run's diff")
	require.NotNil(t, st.Usage)
	assert.Equal(t, 8*100, st.Usage.InputTokens, "7 phases and 1 repair, one turn each")

	dir := filepath.Join(t.TempDir(), "clone")
	out, err := exec.Command("git", "clone", "-q", "--branch", st.Workspace.Branch, repo, dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, f := range []string{"docs/requirements.md", "docs/design.md", "todo/todo.go", "todo/todo_test.go", "web/index.html", "REVIEW.md", "DEPLOY.md"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}
	test := exec.Command(gobin, "test", "./...")
	test.Dir = dir
	test.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	out, err = test.CombinedOutput()
	require.NoError(t, err, "go test on the branch: %s", out)
}

// A worker whose agents are a coding-agent CLI preset (fake CLIs printing
// the documented reports) runs a template in a workspace: each phase's CLI
// works in its checkout (its files are the phase's commit), and usage and
// cost come from the CLI's report.
func TestTemplateWithCLIPresets(t *testing.T) {
	for _, tc := range []struct {
		preset, program, report string
		cost                    float64
	}{
		{dag.PresetClaudeCode, "claude",
			`printf '{"type":"result","subtype":"success","is_error":false,"num_turns":3,"result":"%s done","total_cost_usd":0.01,"usage":{"input_tokens":100,"output_tokens":20,"cache_read_input_tokens":50,"cache_creation_input_tokens":0}}\n' "$MAESTRO_NODE_ID"`,
			0.01},
		{dag.PresetCodex, "codex",
			`printf '{"type":"thread.started","thread_id":"t"}\n{"type":"item.completed","item":{"type":"agent_message","text":"%s done"}}\n{"type":"turn.completed","usage":{"input_tokens":100,"cached_input_tokens":50,"output_tokens":20}}\n' "$MAESTRO_NODE_ID"`,
			0},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			t.Parallel()
			bin := t.TempDir()
			script := "#!/bin/sh\ncat > /dev/null\necho \"work of $MAESTRO_NODE_ID\" > \"$MAESTRO_NODE_ID.txt\"\n" + tc.report + "\n"
			require.NoError(t, os.WriteFile(filepath.Join(bin, tc.program), []byte(script), 0o755))
			repo := filepath.Join(t.TempDir(), "app.git")
			start, err := workspace.Init(context.Background(), "", repo)
			require.NoError(t, err)
			e := server.New(t, testenv.WithWorkspaces(""), testenv.WithActivities(activities.Config{
				Getenv: func(k string) string {
					if k == "PATH" {
						return bin + ":/usr/bin:/bin"
					}
					return os.Getenv(k)
				},
				Agent: activities.AgentDefaults{Provider: dag.ProviderCommand, Preset: tc.preset},
			}))
			st := runToEnd(t, e, runs.StartRequest{Template: templates.SDLCLinear, Requirement: "Build a todo app",
				Workspace: &dag.Workspace{Repo: repo}})
			require.Equal(t, run.Completed, st.Status, st.Error)
			for _, n := range st.Nodes {
				assert.Equal(t, n.ID+" done", n.Output)
				require.NotNil(t, n.Commit, n.ID)
				assert.Equal(t, n.ID+".txt", git(t, repo, "diff", "--name-only", n.Commit.Base, n.Commit.SHA), n.ID)
				require.NotNil(t, n.Usage, n.ID)
				assert.Equal(t, 50, n.Usage.CacheReadTokens, n.ID)
			}
			require.NotNil(t, st.Usage)
			assert.Equal(t, 7*100, st.Usage.InputTokens)
			assert.Equal(t, 7*20, st.Usage.OutputTokens)
			assert.InDelta(t, 7*tc.cost, st.Usage.CostUSD, 1e-9)
			assert.Len(t, strings.Split(git(t, repo, "log", "--format=%h", start+".."+st.Workspace.Head), "\n"), 7, "one commit per phase")
		})
	}
}
