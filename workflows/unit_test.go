package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// These tests use the SDK's time-skipping test environment for workflow logic
// that would take hours on a real server; the integration tests run the same
// workflow on a real one.

func newTestEnv(t testing.TB, exec func(context.Context, run.NodeInput) (run.NodeResult, error)) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env)
	env.RegisterActivityWithOptions(exec, activity.RegisterOptions{Name: activities.ExecuteNodeName})
	return env
}

func finalStatus(t *testing.T, env *testsuite.TestWorkflowEnvironment) *run.Status {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	var st run.Status
	if err := env.GetWorkflowError(); err != nil {
		var appErr *temporal.ApplicationError
		var canceled *temporal.CanceledError
		switch {
		case errors.As(err, &appErr):
			require.NoError(t, appErr.Details(&st))
		case errors.As(err, &canceled):
			require.NoError(t, canceled.Details(&st))
		default:
			t.Fatalf("unexpected error %v", err)
		}
		return &st
	}
	require.NoError(t, env.GetWorkflowResult(&st))
	return &st
}

func TestDefaultRunTimeoutIsTwoHours(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env)
	env.RegisterActivityWithOptions(func(context.Context, run.NodeInput) (run.NodeResult, error) {
		return run.NodeResult{}, nil
	}, activity.RegisterOptions{Name: activities.ExecuteNodeName})
	// A mocked activity's delay runs on the test clock, which skips ahead;
	// a really blocked activity would hold the clock still.
	isNode := func(id string) any {
		return mock.MatchedBy(func(in run.NodeInput) bool { return in.Node.ID == id })
	}
	env.OnActivity(activities.ExecuteNodeName, mock.Anything, isNode("quick")).
		Return(run.NodeResult{Output: "quick", Attempt: 1}, nil)
	env.OnActivity(activities.ExecuteNodeName, mock.Anything, isNode("forever")).After(3 * time.Hour).
		Return(func(ctx context.Context, _ run.NodeInput) (run.NodeResult, error) {
			return run.NodeResult{}, ctx.Err()
		})
	p := dag.Pipeline{Name: "t", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{
		{ID: "quick", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "forever", HeartbeatTimeout: "3h", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "next", DependsOn: []string{"forever"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	env.ExecuteWorkflow(DAGWorkflow, run.Input{Pipeline: p})
	st := finalStatus(t, env)
	assert.Equal(t, run.TimedOut, st.Status)
	assert.Equal(t, "run timed out after 2h0m0s", st.Error)
	assert.Equal(t, 2*time.Hour, st.EndedAt.Sub(st.StartedAt).Round(time.Minute))
	assert.Equal(t, run.NodeCompleted, st.Node("quick").Status)
	assert.Equal(t, run.NodeCancelled, st.Node("forever").Status)
	assert.Equal(t, run.NodeSkipped, st.Node("next").Status)
}

func TestInputsCarryDependencyOutputsAndParams(t *testing.T) {
	// The test environment runs a and b at once: guard the map.
	var mu sync.Mutex
	seen := map[string]run.NodeInput{}
	env := newTestEnv(t, func(ctx context.Context, in run.NodeInput) (run.NodeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		seen[in.Node.ID] = in
		return run.NodeResult{Output: "out-" + in.Node.ID, Attempt: 1}, nil
	})
	p := dag.Pipeline{Name: "t", Mode: dag.ModeDAGParallel, Params: map[string]any{"requirement": "r"}, Nodes: []dag.Node{
		{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "b", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "c", DependsOn: []string{"a", "b"}, Executor: echo()},
		{ID: "d", DependsOn: []string{"c"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	env.ExecuteWorkflow(DAGWorkflow, run.Input{Pipeline: p})
	st := finalStatus(t, env)
	require.Equal(t, run.Completed, st.Status)
	assert.Equal(t, map[string]string{"a": "out-a", "b": "out-b"}, seen["c"].Inputs)
	assert.Equal(t, "r", seen["c"].Params["requirement"])
	assert.Equal(t, "t", seen["c"].Pipeline)
	assert.Empty(t, seen["a"].Inputs)
	// A noop node uses nothing of the run: its input is the node alone.
	assert.Equal(t, run.NodeInput{Node: dag.Node{ID: "d", Executor: dag.NewExecutor(&dag.NoopSpec{})}}, seen["d"])
	assert.Empty(t, seen["c"].WorkflowID, "the activity reads the workflow ID from its info")
}

// echo is a command executor: a kind that reads its inputs and params.
func echo() dag.Executor {
	return dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{Argv: []string{"echo"}}})
}

func TestReusedNodesAreNotExecuted(t *testing.T) {
	var ran []string
	env := newTestEnv(t, func(ctx context.Context, in run.NodeInput) (run.NodeResult, error) {
		ran = append(ran, in.Node.ID)
		return run.NodeResult{Output: "got " + in.Inputs["a"]}, nil
	})
	p := dag.Pipeline{Name: "t", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{
		{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "b", DependsOn: []string{"a"}, Executor: echo()},
	}}
	env.ExecuteWorkflow(DAGWorkflow, run.Input{Pipeline: p, RetryOf: "old", Reuse: map[string]run.NodeResult{"a": {Output: "from before", Attempt: 2}}})
	st := finalStatus(t, env)
	require.Equal(t, run.Completed, st.Status)
	assert.Equal(t, []string{"b"}, ran)
	assert.True(t, st.Node("a").Reused)
	assert.EqualValues(t, 2, st.Node("a").Attempts)
	assert.Equal(t, "got from before", st.Node("b").Output)
	assert.Equal(t, "old", st.RetryOf)
}

func TestOutputSummaryIsCapped(t *testing.T) {
	big := string(make([]byte, 10*run.OutputSummaryBytes))
	env := newTestEnv(t, func(ctx context.Context, in run.NodeInput) (run.NodeResult, error) {
		return run.NodeResult{Output: big, OutputBytes: len(big)}, nil
	})
	env.ExecuteWorkflow(DAGWorkflow, run.Input{Pipeline: dag.Pipeline{Name: "t", Mode: dag.ModeLinear,
		Nodes: []dag.Node{{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})}}}})
	st := finalStatus(t, env)
	n := st.Node("a")
	assert.LessOrEqual(t, len(n.Output), run.OutputSummaryBytes+len("…"))
	assert.True(t, n.OutputTruncated)
	assert.Equal(t, len(big), n.OutputBytes)
}

func TestInvalidPipelineFailsWithoutRunningAnything(t *testing.T) {
	env := newTestEnv(t, func(ctx context.Context, in run.NodeInput) (run.NodeResult, error) {
		t.Errorf("node %s ran", in.Node.ID)
		return run.NodeResult{}, nil
	})
	env.ExecuteWorkflow(DAGWorkflow, run.Input{Pipeline: dag.Pipeline{Name: "t"}})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	assert.Equal(t, ErrTypeInvalidPipeline, appErr.Type())
}
