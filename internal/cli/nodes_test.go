package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/bench"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// A run bigger than a status holds: status shows the first nodes and says
// how to see the rest; nodes pages through all of them.
func TestNodesCommandPagesABigRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	env, cli := onServer(t)
	n := run.StatusNodes + 200
	started, err := env.Runs.Start(t.Context(), runs.StartRequest{DAG: bench.Layered("big", n, 100, 100)})
	require.NoError(t, err)
	_, err = env.Runs.Wait(t.Context(), started.WorkflowID)
	require.NoError(t, err)

	r := cli("status", started.WorkflowID)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stdout, "the first 1000 of 1200 nodes; all of them: maestro nodes "+started.WorkflowID)

	r = cli("nodes", started.WorkflowID, "--status", "completed", "--page-size", "500")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	assert.Equal(t, "1200 node(s)", lines[len(lines)-1])
	rows := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "n") && strings.Contains(l, "completed") {
			rows++
		}
	}
	assert.Equal(t, n, rows, "every node once")

	r = cli("nodes", started.WorkflowID, "--json", "--page-size", "10")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	var page run.NodesPage
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &page))
	assert.Len(t, page.Nodes, 10)
	assert.Equal(t, n, page.Total)
	assert.NotEmpty(t, page.NextPageToken)

	r = cli("nodes", started.WorkflowID, "--status", "done")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "status")
	r = cli("nodes", started.WorkflowID, "--page-token", "nope")
	assert.NotEqual(t, 0, r.code)
	assert.Contains(t, r.stderr, "page_token")
}
