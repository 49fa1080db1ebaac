package workflows_test

import (
	"context"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/fakellm"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/pricing"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// Every call of the fake model costs 100 input and 10 output tokens, at
// $10 and $100 per million: $0.002.
const callUSD = (100*10 + 10*100) / 1e6

func budgetEnv(t *testing.T) (*testenv.Env, *fakellm.Server) {
	srv := fakellm.New(t, fakeKey, func(*http.Request, fakellm.Request) fakellm.Reply {
		return fakellm.Reply{Text: "done", InputTokens: 100, OutputTokens: 10}
	})
	e := server.New(t, testenv.WithActivities(activities.Config{
		Getenv: func(k string) string {
			if k == activities.DefaultAnthropicKey {
				return fakeKey
			}
			return os.Getenv(k)
		},
		Agent:  activities.AgentDefaults{Provider: dag.ProviderAnthropic, Model: "budget-test-1", BaseURL: srv.URL},
		Prices: pricing.With(pricing.Table{"budget-test": {Input: 10, Output: 100}}),
	}))
	return e, srv
}

func budgetPipeline(b dag.Budget) *dag.Pipeline {
	agent := func(id string, deps ...string) dag.Node {
		return dag.Node{ID: id, DependsOn: deps, Retry: &dag.Retry{MaxAttempts: 1},
			Executor: dag.NewExecutor(&dag.AgentSpec{Prompt: "Do " + id})}
	}
	p := pipeline("budget", dag.ModeDAGParallel, agent("plan"), agent("build", "plan"))
	p.Budget = &b
	return p
}

func TestBudgetReachedWaitsUntilExtended(t *testing.T) {
	t.Parallel()
	e, srv := budgetEnv(t)
	ctx := context.Background()
	// The first agent spends the whole budget: the second waits before
	// it starts.
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: budgetPipeline(dag.Budget{Tokens: 110})})
	require.NoError(t, err)
	st := waitFor(t, e, started.WorkflowID, "build waits for the budget", nodeState("build", run.NodeWaitingBudget))
	assert.Equal(t, run.NodeCompleted, st.Node("plan").Status)
	require.NotNil(t, st.Budget)
	assert.Equal(t, 110, st.Budget.Tokens)
	assert.Equal(t, 110, st.Budget.SpentTokens)
	assert.InDelta(t, callUSD, st.Budget.SpentUSD, 1e-12)
	assert.InDelta(t, callUSD, st.Node("plan").Usage.CostUSD, 1e-12)
	assert.Equal(t, 1, st.Counts[run.NodeWaitingBudget])
	assert.Len(t, srv.Requests(), 1)

	_, err = e.Runs.ExtendBudget(ctx, started.WorkflowID, run.BudgetDecision{AddUSD: 1})
	assert.ErrorIs(t, err, runs.ErrBudgetRefused, "the budget limits tokens only")
	_, err = e.Runs.ExtendBudget(ctx, started.WorkflowID, run.BudgetDecision{AddTokens: -1})
	assert.ErrorIs(t, err, runs.ErrInvalidRequest)

	b, err := e.Runs.ExtendBudget(ctx, started.WorkflowID, run.BudgetDecision{AddTokens: 100000, By: "ana"})
	require.NoError(t, err)
	assert.Equal(t, 100110, b.Tokens)
	assert.Equal(t, 110, b.SpentTokens)

	st, err = e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Len(t, srv.Requests(), 2)
	// The spend is what the fake server reported, priced by the table.
	assert.Equal(t, 220, st.Budget.SpentTokens)
	assert.InDelta(t, 2*callUSD, st.Budget.SpentUSD, 1e-12)
	assert.Equal(t, 200, st.Usage.InputTokens)
	assert.Equal(t, 20, st.Usage.OutputTokens)
	assert.InDelta(t, 2*callUSD, st.Usage.CostUSD, 1e-12)

	// Run lists show the run's tokens and cost (from its memo).
	require.Eventually(t, func() bool {
		list, _, err := e.Runs.List(ctx, runs.ListFilter{PageSize: 1000})
		require.NoError(t, err)
		for _, r := range list {
			if r.WorkflowID == started.WorkflowID && r.Usage != nil {
				assert.Equal(t, 200, r.Usage.InputTokens)
				assert.InDelta(t, 2*callUSD, r.Usage.CostUSD, 1e-12)
				return true
			}
		}
		return false
	}, 20*time.Second, 100*time.Millisecond, "the listed run has its usage")

	_, err = e.Runs.ExtendBudget(ctx, started.WorkflowID, run.BudgetDecision{AddTokens: 1})
	assert.ErrorIs(t, err, runs.ErrNotRunning)
}

func TestBudgetStopsAnAgentAndRejectionFailsIt(t *testing.T) {
	t.Parallel()
	e, srv := budgetEnv(t)
	ctx := context.Background()
	// 5 tokens are left for the second agent: its prompt alone is more,
	// so it stops before calling the model, and waits.
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: budgetPipeline(dag.Budget{Tokens: 115, USD: 10})})
	require.NoError(t, err)
	st := waitFor(t, e, started.WorkflowID, "build waits for the budget", nodeState("build", run.NodeWaitingBudget))
	assert.Contains(t, st.Node("build").LastError, "stopped before a model call")
	assert.Len(t, srv.Requests(), 1)

	b, err := e.Runs.ExtendBudget(ctx, started.WorkflowID, run.BudgetDecision{Reject: true, Comment: "enough", By: "ana"})
	require.NoError(t, err)
	assert.Equal(t, 110, b.SpentTokens)

	st, err = e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	assert.Equal(t, run.Failed, st.Status)
	n := st.Node("build")
	assert.Equal(t, run.NodeFailed, n.Status)
	assert.Equal(t, run.ErrTypeBudgetExceeded, n.ErrorType)
	assert.Equal(t, "budget extension rejected by ana: enough", n.Error)
	assert.Len(t, srv.Requests(), 1)
}

func TestExtendBudgetOfARunWithoutOne(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	ctx := context.Background()
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: pipeline("nobudget", dag.ModeDAGParallel, noop("wait", 0),
		dag.Node{ID: "gate", Executor: dag.NewExecutor(&dag.ApprovalSpec{})})})
	require.NoError(t, err)
	waitFor(t, e, started.WorkflowID, "gate waits", nodeState("gate", run.NodeWaitingApproval))
	_, err = e.Runs.ExtendBudget(ctx, started.WorkflowID, run.BudgetDecision{AddUSD: 1})
	assert.ErrorIs(t, err, runs.ErrBudgetRefused)
	_, err = e.Runs.ExtendBudget(ctx, "no-such-run", run.BudgetDecision{AddUSD: 1})
	assert.ErrorIs(t, err, runs.ErrNotFound)
	require.NoError(t, e.Runs.Cancel(ctx, started.WorkflowID))
}

// A coding agent checks the budget before each turn: the second turn would
// cross it, so the attempt stops with the first turn's usage counted, and
// the node waits; extended, it starts over from its base.
func TestBudgetStopsACodingAgentBetweenTurns(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	turns := 0
	srv := fakellm.New(t, fakeKey, func(*http.Request, fakellm.Request) fakellm.Reply {
		mu.Lock()
		turns++
		turn := turns
		mu.Unlock()
		if turn == 1 {
			return fakellm.Reply{InputTokens: 1000, OutputTokens: 500, ToolCalls: []fakellm.ToolCall{
				call("c1", "write_file", map[string]any{"path": "first.txt", "content": "discarded\n"}),
			}}
		}
		return fakellm.Reply{InputTokens: 10, OutputTokens: 5, ToolCalls: []fakellm.ToolCall{
			call("c2", "write_file", map[string]any{"path": "second.txt", "content": "kept\n"}),
			call("c3", "finish", map[string]any{"summary": "done"}),
		}}
	})
	e, repo := coderEnv(t, dag.ProviderAnthropic, srv.URL)
	p := &dag.Pipeline{Name: "coder-budget", Mode: dag.ModeDAGParallel, Workspace: &dag.Workspace{Repo: repo},
		Budget: &dag.Budget{Tokens: 2000},
		Nodes:  []dag.Node{{ID: "impl", Executor: dag.NewExecutor(&dag.AgentSpec{})}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	st := waitFor(t, e, started.WorkflowID, "impl waits for the budget", nodeState("impl", run.NodeWaitingBudget))
	assert.Equal(t, 1500, st.Budget.SpentTokens, "the stopped attempt's turn counts")
	assert.Contains(t, st.Node("impl").LastError, "1500 tokens used")

	_, err = e.Runs.ExtendBudget(ctx, started.WorkflowID, run.BudgetDecision{AddTokens: 10000})
	require.NoError(t, err)
	st, err = e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, 1515, st.Budget.SpentTokens)
	n := st.Node("impl")
	require.NotNil(t, n.Commit)
	assert.Equal(t, "second.txt", git(t, repo, "diff", "--name-only", n.Commit.Base, n.Commit.SHA), "the new attempt started from the base")
}
