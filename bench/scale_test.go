package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

var server *testenv.Server

func TestMain(m *testing.M) {
	server = testenv.Start()
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

// TestTenThousandNodes completes a pipeline of dag.MaxNodes nodes (layers
// of 500) on the embedded server: it closes completed, its status is a
// summary with the first nodes and a page token, the nodes read page by
// page are all there and completed, and no run of its history nears
// Temporal's limits (51,200 events and 50 MB; warnings at 10,240 and 10 MB).
func TestTenThousandNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10,000-node run takes a minute")
	}
	env := server.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	p := Layered("ten-thousand", dag.MaxNodes, 500, 500)
	began := time.Now()
	started, err := env.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)

	// While it runs, the status is a summary and a first page.
	var queried time.Duration
	for {
		q := time.Now()
		st, err := env.Runs.Status(ctx, started.WorkflowID)
		require.NoError(t, err)
		if st.Closed() || st.CompletedNodes > 1000 {
			queried = time.Since(q)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	st, err := env.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	wall := time.Since(began)
	assert.Equal(t, run.Completed, st.Status)
	assert.Equal(t, dag.MaxNodes, st.TotalNodes)
	assert.Equal(t, dag.MaxNodes, st.CompletedNodes)
	assert.Equal(t, dag.MaxNodes, st.Counts[run.NodeCompleted])
	assert.Len(t, st.Nodes, run.StatusNodes)
	assert.NotEmpty(t, st.NodesNextPageToken)
	assert.Empty(t, st.Running)

	hs, err := readChain(ctx, server.Client, started.WorkflowID)
	require.NoError(t, err)
	replayed, _, err := replayHistory(hs.biggest)
	require.NoError(t, err)

	// Every node, page by page.
	seen := map[string]bool{}
	q := run.NodesQuery{PageSize: run.MaxNodesPage, PageToken: st.NodesNextPageToken}
	for _, n := range st.Nodes {
		seen[n.ID] = true
	}
	pages := 1
	for q.PageToken != "" {
		page, err := env.Runs.Nodes(ctx, started.WorkflowID, q)
		require.NoError(t, err)
		pages++
		for _, n := range page.Nodes {
			assert.Equal(t, run.NodeCompleted, n.Status, n.ID)
			assert.False(t, seen[n.ID], "node %s twice", n.ID)
			seen[n.ID] = true
		}
		q.PageToken = page.NextPageToken
	}
	assert.Len(t, seen, dag.MaxNodes)
	assert.Equal(t, 10, pages)

	assert.Greater(t, hs.parts, 1, "the run continued as new")
	assert.Less(t, hs.maxEvents, 10240, "events of the biggest run (Temporal warns at 10,240)")
	assert.Less(t, hs.maxBytes, 10<<20, "bytes of the biggest run (Temporal warns at 10 MB)")
	assert.Less(t, hs.maxEvent, 512<<10, "the biggest event: its payloads under Temporal's 512 KB warning (the pipeline travels compressed)")
	t.Logf("%d nodes: %s wall, status query %s mid-run; history: %d runs, %d events (biggest run %d), %.1f MB (biggest %.1f MB), %.0f bytes per node, biggest event %d KB; replay of the biggest run %s",
		dag.MaxNodes, wall.Round(time.Millisecond), queried.Round(time.Millisecond), hs.parts, hs.events, hs.maxEvents,
		float64(hs.bytes)/(1<<20), float64(hs.maxBytes)/(1<<20), float64(hs.bytes)/float64(dag.MaxNodes), hs.maxEvent>>10, replayed.Round(time.Millisecond))
}
