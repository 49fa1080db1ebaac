package workflows

import (
	"context"
	"errors"
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
)

// These tests use the SDK's time-skipping test environment for workflow logic
// that would take hours on a real server; the integration tests run the same
// workflow on a real one.

func newTestEnv(t testing.TB, exec func(context.Context, activities.NodeInput) (activities.NodeResult, error)) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	Register(env)
	env.RegisterActivityWithOptions(exec, activity.RegisterOptions{Name: activities.ExecuteNodeName})
	return env
}

func finalStatus(t *testing.T, env *testsuite.TestWorkflowEnvironment) *Status {
	t.Helper()
	require.True(t, env.IsWorkflowCompleted())
	var st Status
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
	env.RegisterActivityWithOptions(func(context.Context, activities.NodeInput) (activities.NodeResult, error) {
		return activities.NodeResult{}, nil
	}, activity.RegisterOptions{Name: activities.ExecuteNodeName})
	// A mocked activity's delay runs on the test clock, which skips ahead;
	// a really blocked activity would hold the clock still.
	isNode := func(id string) any {
		return mock.MatchedBy(func(in activities.NodeInput) bool { return in.Node.ID == id })
	}
	env.OnActivity(activities.ExecuteNodeName, mock.Anything, isNode("quick")).
		Return(activities.NodeResult{Output: "quick", Attempt: 1}, nil)
	env.OnActivity(activities.ExecuteNodeName, mock.Anything, isNode("forever")).After(3 * time.Hour).
		Return(func(ctx context.Context, _ activities.NodeInput) (activities.NodeResult, error) {
			return activities.NodeResult{}, ctx.Err()
		})
	p := dag.Pipeline{Name: "t", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{
		{ID: "quick", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "forever", HeartbeatTimeout: "3h", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "next", DependsOn: []string{"forever"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	env.ExecuteWorkflow(DAGWorkflow, Input{Pipeline: p})
	st := finalStatus(t, env)
	assert.Equal(t, RunTimedOut, st.Status)
	assert.Equal(t, "run timed out after 2h0m0s", st.Error)
	assert.Equal(t, 2*time.Hour, st.EndedAt.Sub(st.StartedAt).Round(time.Minute))
	assert.Equal(t, NodeCompleted, st.Node("quick").Status)
	assert.Equal(t, NodeCancelled, st.Node("forever").Status)
	assert.Equal(t, NodeSkipped, st.Node("next").Status)
}

func TestInputsCarryDependencyOutputsAndParams(t *testing.T) {
	seen := map[string]activities.NodeInput{}
	env := newTestEnv(t, func(ctx context.Context, in activities.NodeInput) (activities.NodeResult, error) {
		seen[in.Node.ID] = in
		return activities.NodeResult{Output: "out-" + in.Node.ID, Attempt: 1}, nil
	})
	p := dag.Pipeline{Name: "t", Mode: dag.ModeDAGParallel, Params: map[string]any{"requirement": "r"}, Nodes: []dag.Node{
		{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "b", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "c", DependsOn: []string{"a", "b"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	env.ExecuteWorkflow(DAGWorkflow, Input{Pipeline: p})
	st := finalStatus(t, env)
	require.Equal(t, RunCompleted, st.Status)
	assert.Equal(t, map[string]string{"a": "out-a", "b": "out-b"}, seen["c"].Inputs)
	assert.Equal(t, "r", seen["c"].Params["requirement"])
	assert.Empty(t, seen["a"].Inputs)
}

func TestReusedNodesAreNotExecuted(t *testing.T) {
	var ran []string
	env := newTestEnv(t, func(ctx context.Context, in activities.NodeInput) (activities.NodeResult, error) {
		ran = append(ran, in.Node.ID)
		return activities.NodeResult{Output: "got " + in.Inputs["a"]}, nil
	})
	p := dag.Pipeline{Name: "t", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{
		{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "b", DependsOn: []string{"a"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	env.ExecuteWorkflow(DAGWorkflow, Input{Pipeline: p, RetryOf: "old", Reuse: map[string]activities.NodeResult{"a": {Output: "from before", Attempt: 2}}})
	st := finalStatus(t, env)
	require.Equal(t, RunCompleted, st.Status)
	assert.Equal(t, []string{"b"}, ran)
	assert.True(t, st.Node("a").Reused)
	assert.EqualValues(t, 2, st.Node("a").Attempts)
	assert.Equal(t, "got from before", st.Node("b").Output)
	assert.Equal(t, "old", st.RetryOf)
}

func TestOutputSummaryIsCapped(t *testing.T) {
	big := string(make([]byte, 10*OutputSummaryBytes))
	env := newTestEnv(t, func(ctx context.Context, in activities.NodeInput) (activities.NodeResult, error) {
		return activities.NodeResult{Output: big, OutputBytes: len(big)}, nil
	})
	env.ExecuteWorkflow(DAGWorkflow, Input{Pipeline: dag.Pipeline{Name: "t", Mode: dag.ModeLinear,
		Nodes: []dag.Node{{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})}}}})
	st := finalStatus(t, env)
	n := st.Node("a")
	assert.LessOrEqual(t, len(n.Output), OutputSummaryBytes+len("…"))
	assert.True(t, n.OutputTruncated)
	assert.Equal(t, len(big), n.OutputBytes)
}

func TestInvalidPipelineFailsWithoutRunningAnything(t *testing.T) {
	env := newTestEnv(t, func(ctx context.Context, in activities.NodeInput) (activities.NodeResult, error) {
		t.Errorf("node %s ran", in.Node.ID)
		return activities.NodeResult{}, nil
	})
	env.ExecuteWorkflow(DAGWorkflow, Input{Pipeline: dag.Pipeline{Name: "t"}})
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	assert.Equal(t, ErrTypeInvalidPipeline, appErr.Type())
}
