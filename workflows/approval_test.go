package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workflows"
)

func gateNode(id string, timeout dag.Duration, onTimeout string, deps ...string) dag.Node {
	return dag.Node{ID: id, DependsOn: deps, Timeout: timeout,
		Executor: dag.NewExecutor(&dag.ApprovalSpec{OnTimeout: onTimeout})}
}

// gated is build and gate → deploy.
func gated(gate dag.Node) *dag.Pipeline {
	return pipeline("gated", dag.ModeDAGParallel, noop("build", 0), gate, noop("deploy", 0, gate.ID))
}

func TestApprovalGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		gate      dag.Node
		decide    func(t *testing.T, e *envT, id string)
		run       run.State
		gateState run.NodeState
		deploy    run.NodeState
		message   string
	}{
		{
			name: "approved through the update",
			gate: gateNode("gate", "", ""),
			decide: func(t *testing.T, e *envT, id string) {
				st, err := e.Runs.Approve(context.Background(), id, run.Approval{Node: "gate", Approved: true, By: "ana", Comment: "ship it"})
				require.NoError(t, err)
				assert.Equal(t, run.NodeCompleted, st.Status, "the update returns the decided node")
			},
			run: run.Completed, gateState: run.NodeCompleted, deploy: run.NodeCompleted,
			message: "approved by ana: ship it",
		},
		{
			name: "rejected through the signal",
			gate: gateNode("gate", "", ""),
			decide: func(t *testing.T, e *envT, id string) {
				require.NoError(t, server.Client.SignalWorkflow(context.Background(), id, "", workflows.ApproveName,
					run.Approval{Node: "gate", Approved: false, By: "bo", Comment: "not today"}))
			},
			run: run.Failed, gateState: run.NodeFailed, deploy: run.NodeSkipped,
			message: "rejected by bo: not today",
		},
		{
			name: "timed out and rejected",
			gate: gateNode("gate", "300ms", ""),
			run:  run.Failed, gateState: run.NodeFailed, deploy: run.NodeSkipped,
			message: "rejected automatically: no decision within 300ms",
		},
		{
			name: "timed out and approved",
			gate: gateNode("gate", "300ms", dag.OnTimeoutApprove),
			run:  run.Completed, gateState: run.NodeCompleted, deploy: run.NodeCompleted,
			message: "approved automatically: no decision within 300ms",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &envT{Env: server.New(t), t: t}
			ctx := context.Background()
			started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: gated(tt.gate)})
			require.NoError(t, err)
			id := started.WorkflowID
			st := waitFor(t, e.Env, id, "gate waiting", nodeState("gate", run.NodeWaitingApproval))
			assert.Equal(t, run.NodePending, st.Node("deploy").Status, "nothing after the gate starts before a decision")
			assert.Equal(t, 1, st.Counts[run.NodeWaitingApproval])
			if tt.decide != nil {
				tt.decide(t, e, id)
			}
			st, err = e.Runs.Wait(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, tt.run, st.Status, st.Error)
			g := st.Node("gate")
			assert.Equal(t, tt.gateState, g.Status)
			assert.Equal(t, tt.deploy, st.Node("deploy").Status)
			require.NotNil(t, g.Approval)
			if g.Status == run.NodeCompleted {
				assert.Equal(t, tt.message, g.Output)
			} else {
				assert.Equal(t, tt.message, g.Error)
				assert.Equal(t, workflows.ErrTypeApprovalRejected, g.ErrorType)
				assert.Contains(t, st.Error, `node "gate" failed`)
			}
		})
	}
}

func TestApprovalRefusals(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	ctx := context.Background()
	p := gated(gateNode("gate", "", "", "build"))
	p.Nodes[0].Executor.Spec.(*dag.NoopSpec).Duration = "2s" // the gate waits for build, so it is still pending
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	id := started.WorkflowID

	for _, a := range []run.Approval{{Node: "nope", Approved: true}, {Node: "build", Approved: true}, {Approved: true}} {
		_, err := e.Runs.Approve(ctx, id, a)
		assert.ErrorIs(t, err, runs.ErrApprovalRefused, "node %q", a.Node)
	}
	// A decision without approved, as the temporal CLI's --input
	// '{"node":"gate"}' sends it, is refused rather than taken as a rejection.
	h, err := server.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.ApproveName, Args: []any{map[string]any{"node": "gate"}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	assert.ErrorContains(t, err, "approved: is required (true or false)")
	// A decision before the gate waits is kept and applied when it does.
	st, err := e.Runs.Approve(ctx, id, run.Approval{Node: "gate", Approved: true, By: "early"})
	require.NoError(t, err)
	assert.Equal(t, run.NodePending, st.Status)
	_, err = e.Runs.Approve(ctx, id, run.Approval{Node: "gate", Approved: false})
	assert.NoError(t, err, "a pending gate's decision can be changed until it applies")

	final, err := e.Runs.Wait(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, run.Failed, final.Status, "the last decision before the gate waited wins")
	_, err = e.Runs.Approve(ctx, id, run.Approval{Node: "gate", Approved: true})
	assert.ErrorIs(t, err, runs.ErrNotRunning)
	_, err = e.Runs.Approve(ctx, "no-such-run", run.Approval{Node: "gate", Approved: true})
	assert.ErrorIs(t, err, runs.ErrNotFound)
}

func TestCancelWhileWaitingForApproval(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	ctx := context.Background()
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: gated(gateNode("gate", "1h", ""))})
	require.NoError(t, err)
	waitFor(t, e, started.WorkflowID, "gate waiting", nodeState("gate", run.NodeWaitingApproval))
	began := time.Now()
	require.NoError(t, e.Runs.Cancel(ctx, started.WorkflowID))
	st, err := e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	assert.Less(t, time.Since(began), 5*time.Second)
	assert.Equal(t, run.Cancelled, st.Status)
	assert.Equal(t, run.NodeCancelled, st.Node("gate").Status)
	assert.Equal(t, run.NodeSkipped, st.Node("deploy").Status)
}
