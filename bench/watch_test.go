package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// The event stream of a run bigger than a status holds reports the nodes
// past the first run.StatusNodes too: together with the snapshot, every
// node's completion is seen exactly once.
func TestWatchFollowsEveryNodeOfABigRun(t *testing.T) {
	env := server.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	n := run.StatusNodes + 300
	started, err := env.Runs.Start(ctx, runs.StartRequest{DAG: Layered("watched", n, 100, 20)})
	require.NoError(t, err)
	evs, err := env.Runs.Watch(ctx, started.WorkflowID, runs.WatchOptions{PollInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	completed := map[string]int{}
	var final *run.Status
	for ev := range evs {
		switch ev.Type {
		case runs.EventSnapshot:
			require.NotNil(t, ev.Run)
			assert.Len(t, ev.Run.Nodes, run.StatusNodes)
			assert.NotEmpty(t, ev.Run.NodesNextPageToken)
			for _, nd := range ev.Run.Nodes {
				if nd.Status == run.NodeCompleted {
					completed[nd.ID]++
				}
			}
		case runs.EventNodeCompleted:
			completed[ev.Node]++
		case runs.EventRunFinished:
			final = ev.Run
		}
	}
	require.NotNil(t, final, "the stream ended with run_finished")
	assert.Equal(t, run.Completed, final.Status)
	assert.Len(t, completed, n, "every node's completion was seen")
	for id, k := range completed {
		assert.Equal(t, 1, k, "node %s completed %d times", id, k)
	}
}
