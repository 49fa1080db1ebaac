package runs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// Terminated runs answer their status from what Temporal has: a run
// terminated before any workflow task ran (nothing can replay it) and a run
// terminated while a node runs both show terminated, their end time and the
// reason, and no node left running or pending.
func TestTerminatedRunStatus(t *testing.T) {
	srv := testenv.Start()
	t.Cleanup(srv.Stop)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pipeline := func(t *testing.T, nodes string) *dag.Pipeline {
		p, err := dag.Parse([]byte(`{"name": "terminate-me", "nodes": ` + nodes + `}`))
		require.NoError(t, err)
		return p
	}
	noneRunning := func(t *testing.T, nodes []run.NodeStatus) {
		t.Helper()
		for _, n := range nodes {
			assert.True(t, n.Status.Terminal(), "node %s is %s", n.ID, n.Status)
		}
	}

	t.Run("before its first workflow task", func(t *testing.T) {
		// No worker polls this queue: no workflow task of the run ever runs.
		svc := runs.New(srv.Client, runs.Config{TaskQueue: "nobody-polls", DefaultMode: dag.ModeDAGParallel, Namespace: srv.Namespace()})
		started, err := svc.Start(ctx, runs.StartRequest{DAG: pipeline(t,
			`[{"id": "a", "executor": {"kind": "noop"}}, {"id": "b", "executor": {"kind": "noop"}, "depends_on": ["a"]}, {"id": "c", "executor": {"kind": "noop"}}]`)})
		require.NoError(t, err)
		before := time.Now()
		require.NoError(t, srv.Client.TerminateWorkflow(ctx, started.WorkflowID, "", "stuck in the queue"))

		st, err := svc.Status(ctx, started.WorkflowID)
		require.NoError(t, err)
		assert.Equal(t, run.Terminated, st.Status)
		require.NotNil(t, st.EndedAt)
		assert.WithinDuration(t, before, *st.EndedAt, time.Minute)
		assert.Contains(t, st.Error, "stuck in the queue")
		assert.Equal(t, "terminate-me", st.Pipeline)
		assert.Equal(t, 3, st.TotalNodes)
		require.Len(t, st.Nodes, 3)
		assert.Equal(t, []string{"a", "b", "c"}, []string{st.Nodes[0].ID, st.Nodes[1].ID, st.Nodes[2].ID})
		noneRunning(t, st.Nodes)
		assert.Equal(t, run.NodeSkipped, st.Nodes[0].Status)
		assert.Contains(t, st.Nodes[0].Error, "stuck in the queue")
		assert.Equal(t, 3, st.Counts[run.NodeSkipped])
		assert.Empty(t, st.Running)

		p, err := svc.Nodes(ctx, started.WorkflowID, run.NodesQuery{PageSize: 2})
		require.NoError(t, err)
		assert.Equal(t, 3, p.Total)
		require.Len(t, p.Nodes, 2)
		require.NotEmpty(t, p.NextPageToken)
		rest, err := svc.Nodes(ctx, started.WorkflowID, run.NodesQuery{PageSize: 2, PageToken: p.NextPageToken})
		require.NoError(t, err)
		require.Len(t, rest.Nodes, 1)
		assert.Equal(t, "c", rest.Nodes[0].ID)
		skipped, err := svc.Nodes(ctx, started.WorkflowID, run.NodesQuery{Status: run.NodeSkipped})
		require.NoError(t, err)
		assert.Equal(t, 3, skipped.Total)
	})

	t.Run("while a node runs", func(t *testing.T) {
		env := srv.New(t)
		started, err := env.Runs.Start(ctx, runs.StartRequest{DAG: pipeline(t,
			`[{"id": "slow", "executor": {"kind": "noop", "duration": "10m"}}, {"id": "after", "executor": {"kind": "noop"}, "depends_on": ["slow"]}]`)})
		require.NoError(t, err)
		terminateWhileSlowRuns(t, env, started.WorkflowID, "taking too long")

		st, err := env.Runs.Status(ctx, started.WorkflowID)
		require.NoError(t, err)
		assert.Equal(t, run.Terminated, st.Status)
		require.NotNil(t, st.EndedAt)
		assert.Contains(t, st.Error, "taking too long")
		require.Len(t, st.Nodes, 2)
		noneRunning(t, st.Nodes)
		slow := st.Node("slow")
		assert.Equal(t, run.NodeCancelled, slow.Status)
		assert.NotNil(t, slow.EndedAt)
		assert.Equal(t, run.NodeSkipped, st.Node("after").Status)
		assert.Zero(t, st.Counts[run.NodeRunning])
		assert.Empty(t, st.Running)

		p, err := env.Runs.Nodes(ctx, started.WorkflowID, run.NodesQuery{})
		require.NoError(t, err)
		require.Len(t, p.Nodes, 2)
		noneRunning(t, p.Nodes)
	})

	t.Run("a big run, filtered by state", func(t *testing.T) {
		// Past the first 1,000 nodes the status holds, nodes are read
		// through the query: the filter applies to the settled states.
		env := srv.New(t)
		p := &dag.Pipeline{Name: "big", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{
			{ID: "slow", Executor: dag.NewExecutor(&dag.NoopSpec{Duration: "10m"})}}}
		for i := range 1100 {
			p.Nodes = append(p.Nodes, dag.Node{ID: fmt.Sprintf("n%d", i), DependsOn: []string{"slow"}, Executor: dag.NewExecutor(&dag.NoopSpec{})})
		}
		started, err := env.Runs.Start(ctx, runs.StartRequest{DAG: p})
		require.NoError(t, err)
		terminateWhileSlowRuns(t, env, started.WorkflowID, "too big")

		for _, tc := range []struct {
			state run.NodeState
			total int
		}{{run.NodeRunning, 0}, {run.NodePending, 0}, {run.NodeCancelled, 1}, {run.NodeSkipped, 1100}} {
			pg, err := env.Runs.Nodes(ctx, started.WorkflowID, run.NodesQuery{Status: tc.state, PageSize: run.MaxNodesPage})
			require.NoError(t, err)
			assert.Equal(t, tc.total, pg.Total, tc.state)
			noneRunning(t, pg.Nodes)
		}
	})
}

// terminateWhileSlowRuns terminates run id once its node "slow" runs.
func terminateWhileSlowRuns(t *testing.T, env *testenv.Env, id, reason string) {
	t.Helper()
	ctx := context.Background()
	require.Eventually(t, func() bool {
		st, err := env.Runs.Status(ctx, id)
		return err == nil && st.Node("slow") != nil && st.Node("slow").Status == run.NodeRunning
	}, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, env.Runs.Terminate(ctx, id, reason))
}
