package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// A pipeline whose input is over run.CompressInputAbove starts with its
// input compressed, runs as any other, and a retry of it reuses what
// completed.
func TestBigPipelineStartsCompressedAndRetries(t *testing.T) {
	if testing.Short() {
		t.Skip("a 4,000-node run takes a few seconds")
	}
	env := server.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const n = 4000
	p := Layered("compressed", n, 500, 500)
	p.FailurePolicy = dag.Continue
	last := &p.Nodes[n-1]
	last.Executor = dag.NewExecutor(&dag.NoopSpec{FailAttempts: 99})
	last.Retry = &dag.Retry{MaxAttempts: 1}
	started, err := env.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)

	it := server.Client.GetWorkflowHistory(ctx, started.WorkflowID, started.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, it.HasNext())
	first, err := it.Next()
	require.NoError(t, err)
	input := first.GetWorkflowExecutionStartedEventAttributes().GetInput()
	assert.Less(t, proto.Size(input), run.CompressInputAbove, "the start input is compressed")
	var in run.Input
	require.NoError(t, env.Runs.Config().DataConverter.FromPayloads(input, &in))
	assert.NotEmpty(t, in.Continued)
	assert.Empty(t, in.Pipeline.Nodes)

	st, err := env.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	assert.Equal(t, run.Failed, st.Status)
	assert.Equal(t, n-1, st.Counts[run.NodeCompleted])
	assert.Equal(t, []string{last.ID}, st.Failed)

	retried, err := env.Runs.Retry(ctx, started.WorkflowID)
	require.NoError(t, err)
	st, err = env.Runs.Wait(ctx, retried.WorkflowID)
	require.NoError(t, err)
	assert.Equal(t, run.Failed, st.Status, "the last node fails again")
	reused := 0
	q := run.NodesQuery{PageSize: run.MaxNodesPage}
	for {
		page, err := env.Runs.Nodes(ctx, retried.WorkflowID, q)
		require.NoError(t, err)
		for _, nd := range page.Nodes {
			if nd.Reused {
				reused++
			}
		}
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	assert.Equal(t, n-1, reused, "every node that completed is reused, none run again")
}

// A run started with its input compressed that did not continue as new (its
// nodes are few but big) can be rewound: the nodes that started before the
// point keep their results, and the run completes again.
func TestRewindARunStartedCompressed(t *testing.T) {
	env := server.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const n = 1000
	p := Layered("fat", n, 100, 100)
	for i := range p.Nodes {
		p.Nodes[i].Executor = dag.NewExecutor(&dag.NoopSpec{Output: strings.Repeat("x", 300)})
	}
	started, err := env.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	st, err := env.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status)

	last := p.Nodes[n-1].ID
	rw, err := env.Runs.Rewind(ctx, started.WorkflowID, last, runs.RewindOptions{})
	require.NoError(t, err)
	// What started after the point runs again; what had completed when
	// the node started — its dependencies at least — keeps its result.
	assert.Len(t, append(rw.Rerun, rw.Kept...), n-1)
	for _, dep := range p.Nodes[n-1].DependsOn {
		assert.Contains(t, rw.Kept, dep)
	}
	assert.Contains(t, rw.Kept, "n0")
	require.Eventually(t, func() bool {
		st, err = env.Runs.Status(ctx, started.WorkflowID)
		return err == nil && st.RunID == rw.RunID && st.Closed()
	}, time.Minute, 100*time.Millisecond)
	assert.Equal(t, run.Completed, st.Status)
	assert.Equal(t, n, st.CompletedNodes)
}
