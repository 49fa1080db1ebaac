package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// A decision without "approved" (as `temporal workflow update execute
// --input '{"node":"gate"}'` sends) must not reject the gate: the update
// refuses it, the signal ignores it.
func TestApprovalWithoutApprovedIsRefused(t *testing.T) {
	tests := []struct {
		name  string
		input any
	}{
		{name: "approved left out", input: map[string]any{"node": "gate"}},
		{name: "approved null", input: map[string]any{"node": "gate", "approved": nil, "by": "ana"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t, func(context.Context, run.NodeInput) (run.NodeResult, error) {
				return run.NodeResult{Output: "ok", Attempt: 1}, nil
			})
			p := dag.Pipeline{Name: "t", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{
				{ID: "gate", Executor: dag.NewExecutor(&dag.ApprovalSpec{})},
				{ID: "deploy", DependsOn: []string{"gate"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
			}}
			var refused error
			var gateAfter run.NodeState
			env.RegisterDelayedCallback(func() {
				env.UpdateWorkflow(ApproveName, "bad", &testsuite.TestUpdateCallback{
					OnReject:   func(err error) { refused = err },
					OnAccept:   func() { t.Error("the update accepted a decision without approved") },
					OnComplete: func(any, error) {},
				}, tt.input)
				env.SignalWorkflow(ApproveName, tt.input)
			}, time.Minute)
			env.RegisterDelayedCallback(func() {
				v, err := env.QueryWorkflow(QueryStatus)
				require.NoError(t, err)
				var st run.Status
				require.NoError(t, v.Get(&st))
				gateAfter = st.Node("gate").Status
				env.UpdateWorkflow(ApproveName, "good", &testsuite.TestUpdateCallback{
					OnReject:   func(err error) { t.Errorf("a full decision was refused: %v", err) },
					OnComplete: func(any, error) {},
				}, run.Approval{Node: "gate", Approved: true, By: "ana"})
			}, 2*time.Minute)
			env.ExecuteWorkflow(DAGWorkflow, run.Input{Pipeline: p})

			require.Error(t, refused)
			assert.Contains(t, refused.Error(), "approved: is required (true or false)")
			assert.Equal(t, run.NodeWaitingApproval, gateAfter, "neither the update nor the signal decided the gate")
			st := finalStatus(t, env)
			assert.Equal(t, run.Completed, st.Status, st.Error)
			assert.Equal(t, "approved by ana", st.Node("gate").Output)
		})
	}
}

// Under the continue policy, a gate rejected before it waits fails as it
// starts, and the run ends then: it used to wait for its timeout because
// the gate's dependents stayed pending.
func TestEarlyRejectionEndsTheRun(t *testing.T) {
	env := newTestEnv(t, func(context.Context, run.NodeInput) (run.NodeResult, error) {
		return run.NodeResult{}, nil
	})
	env.OnActivity(activities.ExecuteNodeName, mock.Anything, mock.Anything).After(10*time.Minute).
		Return(run.NodeResult{Output: "built", Attempt: 1}, nil)
	p := dag.Pipeline{Name: "t", Mode: dag.ModeDAGParallel, FailurePolicy: dag.Continue, Nodes: []dag.Node{
		{ID: "build", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "gate", DependsOn: []string{"build"}, Executor: dag.NewExecutor(&dag.ApprovalSpec{})},
		{ID: "deploy", DependsOn: []string{"gate"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(ApproveName, run.Approval{Node: "gate", Approved: false, By: "bo"})
	}, time.Minute)
	env.ExecuteWorkflow(DAGWorkflow, run.Input{Pipeline: p})
	st := finalStatus(t, env)
	assert.Equal(t, run.Failed, st.Status, st.Error)
	assert.Equal(t, "1 node(s) failed: gate", st.Error)
	assert.Equal(t, 10*time.Minute, st.EndedAt.Sub(st.StartedAt).Round(time.Minute))
	assert.Equal(t, run.NodeFailed, st.Node("gate").Status)
	assert.Equal(t, run.NodeSkipped, st.Node("deploy").Status)
	assert.Equal(t, `dependency "gate" failed`, st.Node("deploy").Error)
}
