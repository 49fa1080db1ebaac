package workflows_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/fakellm"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/prompts"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
)

const fakeKey = "sk-ant-test-key"

// phaseOf tells which built-in role a request's system prompt belongs to.
func phaseOf(system string) string {
	for _, p := range dag.Phases {
		if strings.HasPrefix(system, prompts.RoleFor(p).System[:30]) {
			return p
		}
	}
	return "?"
}

func agentEnv(t *testing.T, base string, store artifacts.Store) *testenv.Env {
	return server.New(t, testenv.WithActivities(activities.Config{
		MaxOutputBytes: 2048,
		Getenv: func(k string) string {
			if k == activities.DefaultAnthropicKey {
				return fakeKey
			}
			return os.Getenv(k)
		},
		Agent:         activities.AgentDefaults{Provider: dag.ProviderAnthropic, Model: "claude-test", BaseURL: base},
		ArtifactStore: store,
	}))
}

// The test process has no agent provider; the worker has one: the worker
// decides, so the template's phases run agents.
func TestSDLCParallelWithAgentsFlowsOutputsDownTheDAG(t *testing.T) {
	t.Parallel()
	// The requirements answer is far bigger than the history cap; its end
	// must still reach the design prompt (through the artifact store).
	bigRequirements := "# Requirements\n" + strings.Repeat("- the app lists todos\n", 500) + "END-OF-REQUIREMENTS"
	var mu sync.Mutex
	userPrompts := map[string]string{}
	srv := fakellm.New(t, fakeKey, func(_ *http.Request, r fakellm.Request) fakellm.Reply {
		phase := phaseOf(r.System)
		mu.Lock()
		userPrompts[phase] = r.User
		mu.Unlock()
		text := "OUTPUT-OF-" + phase
		if phase == "requirements" {
			text = bigRequirements
		}
		return fakellm.Reply{Text: text, InputTokens: 100, OutputTokens: 10}
	})
	store := artifacts.NewDir(t.TempDir())
	e := agentEnv(t, srv.URL, store)

	st := runToEnd(t, e, runs.StartRequest{Template: templates.SDLCParallel, Requirement: "Build a todo app"})

	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.False(t, st.Simulated)
	require.Len(t, st.Nodes, len(dag.Phases))
	for _, n := range st.Nodes {
		assert.Equal(t, run.NodeCompleted, n.Status, n.ID)
		assert.Equal(t, dag.KindAgent, n.Executor)
		assert.Equal(t, &run.Usage{Model: "claude-test", InputTokens: 100, OutputTokens: 10}, n.Usage, n.ID)
	}
	assert.Equal(t, &run.Usage{Model: "claude-test", InputTokens: 700, OutputTokens: 70}, st.Usage)
	assert.Equal(t, "OUTPUT-OF-deployment", st.Node("deployment").Output)
	assert.True(t, st.Node("requirements").OutputTruncated)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, userPrompts, len(dag.Phases), "one call per phase")
	assert.Contains(t, userPrompts["requirements"], "Build a todo app")
	assert.Contains(t, userPrompts["design"], "# Output of the requirements phase\n\n# Requirements\n")
	assert.Contains(t, userPrompts["design"], "END-OF-REQUIREMENTS", "the design prompt has the FULL requirements")
	for phase, deps := range map[string][]string{"backend": {"design"}, "frontend": {"design"}, "testing": {"backend", "frontend"},
		"review": {"requirements", "design", "backend", "frontend", "testing"}, "deployment": {"design", "review"}} {
		for _, dep := range deps {
			if dep == "requirements" {
				assert.Contains(t, userPrompts[phase], "# Output of the requirements phase\n\n# Requirements\n", phase)
				assert.Contains(t, userPrompts[phase], "END-OF-REQUIREMENTS", phase)
				continue
			}
			assert.Contains(t, userPrompts[phase], "# Output of the "+dep+" phase\n\nOUTPUT-OF-"+dep, phase)
		}
	}

	// Every node's full output is an artifact; history has only summaries.
	list, err := store.List(context.Background(), st.WorkflowID)
	require.NoError(t, err)
	require.Len(t, list, len(dag.Phases))
	full, err := store.Get(context.Background(), st.WorkflowID, "requirements")
	require.NoError(t, err)
	assert.Equal(t, bigRequirements, string(full))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	it := server.Client.GetWorkflowHistory(ctx, st.WorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events := 0
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		events++
		raw, err := proto.Marshal(ev)
		require.NoError(t, err)
		assert.NotContains(t, string(raw), "END-OF-REQUIREMENTS", "event %d (%s) carries the full output", ev.GetEventId(), ev.GetEventType())
		assert.NotContains(t, string(raw), fakeKey, "the API key is never in history")
	}
	assert.Positive(t, events)
}

func TestTemplateWithoutAgentIsSimulated(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	st := runToEnd(t, e, runs.StartRequest{Template: templates.SDLCLinear, Requirement: "r"})
	require.Equal(t, run.Completed, st.Status)
	assert.True(t, st.Simulated)
	assert.Nil(t, st.Usage)
	for _, n := range st.Nodes {
		assert.Equal(t, dag.KindAgent, n.Executor, n.ID)
		assert.Equal(t, templates.SimulatedOutput(n.Name), n.Output, n.ID)
	}
}

// A template run started by a process without an agent provider runs agent
// phases on a worker with one, as does the same run's linear form: the
// start request carries no agent setting.
func TestTemplateRunsAgentsOnAWorkerWithAProvider(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	calls := 0
	srv := fakellm.New(t, fakeKey, func(_ *http.Request, r fakellm.Request) fakellm.Reply {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return fakellm.Reply{Text: "ANSWER-OF-" + phaseOf(r.System), InputTokens: 3, OutputTokens: 2}
	})
	e := agentEnv(t, srv.URL, nil)
	in, err := e.Runs.Build(runs.StartRequest{Template: templates.SDLCLinear, Requirement: "r"})
	require.NoError(t, err)
	for _, n := range in.Pipeline.Nodes {
		require.Equal(t, dag.KindAgent, n.Executor.Kind, "built without a provider: agent phases all the same")
	}
	st := runToEnd(t, e, runs.StartRequest{Template: templates.SDLCLinear, Requirement: "r"})
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.False(t, st.Simulated)
	for _, n := range st.Nodes {
		assert.Equal(t, "ANSWER-OF-"+n.ID, n.Output)
		assert.NotNil(t, n.Usage, n.ID)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, len(dag.Phases), calls)
}

func TestAgentCommandRun(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	// A stand-in for a coding-agent CLI: it reads the prompt on stdin,
	// writes a file in its working directory and answers on stdout.
	script := filepath.Join(t.TempDir(), "fake-agent")
	require.NoError(t, os.WriteFile(script, []byte(`#!/bin/sh
prompt=$(cat)
echo "$prompt" > "answer-$MAESTRO_NODE_ID.txt"
echo "agent $1 for $MAESTRO_NODE_ID saw: $(printf '%s' "$prompt" | grep -o 'PLAN-[A-Z]*' | tr '\n' ' ')"
`), 0o755))
	e := server.New(t, testenv.WithActivities(activities.Config{
		WorkDir: work,
		Agent:   activities.AgentDefaults{Provider: dag.ProviderCommand, Command: []string{script, "v1"}},
	}))
	agent := func(id string, prompt string, deps ...string) dag.Node {
		return dag.Node{ID: id, DependsOn: deps, Retry: &dag.Retry{MaxAttempts: 1},
			Executor: dag.NewExecutor(&dag.AgentSpec{Prompt: prompt})}
	}
	st := runToEnd(t, e, runs.StartRequest{DAG: pipeline("cli", dag.ModeDAGParallel,
		agent("plan", "Write PLAN-ALPHA"),
		agent("build", `Build from: {{index .Inputs "plan"}}`, "plan"))})
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, "agent v1 for plan saw: PLAN-ALPHA \n", st.Node("plan").Output)
	// The dependent's prompt carried the first agent's answer.
	assert.Equal(t, "agent v1 for build saw: PLAN-ALPHA \n", st.Node("build").Output)
	b, err := os.ReadFile(filepath.Join(work, "answer-build.txt"))
	require.NoError(t, err, "the agent ran in the workspace directory")
	assert.Contains(t, string(b), "Build from: agent v1 for plan saw: PLAN-ALPHA")
}

func TestCancelAbortsASlowModelCall(t *testing.T) {
	t.Parallel()
	called := make(chan struct{})
	aborted := make(chan struct{})
	var once sync.Once
	srv := fakellm.New(t, fakeKey, func(r *http.Request, _ fakellm.Request) fakellm.Reply {
		once.Do(func() { close(called) })
		select {
		case <-r.Context().Done():
			close(aborted)
		case <-time.After(30 * time.Second):
		}
		return fakellm.Reply{Text: "too late"}
	})
	e := agentEnv(t, srv.URL, nil)
	ctx := context.Background()
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: pipeline("slow", dag.ModeDAGParallel,
		dag.Node{ID: "think", Phase: "design", HeartbeatTimeout: "2s", Executor: dag.NewExecutor(&dag.AgentSpec{})})})
	require.NoError(t, err)
	select {
	case <-called:
	case <-time.After(20 * time.Second):
		t.Fatal("the model was never called")
	}
	require.NoError(t, e.Runs.Cancel(ctx, started.WorkflowID))
	select {
	case <-aborted:
	case <-time.After(5 * time.Second):
		t.Fatal("the in-flight model request was not aborted")
	}
	st, err := e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	assert.Equal(t, run.Cancelled, st.Status)
	assert.Equal(t, run.NodeCancelled, st.Node("think").Status)
}
