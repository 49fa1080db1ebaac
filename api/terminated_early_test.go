package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// A run terminated before any workflow task ran (no worker polls its task
// queue) cannot be replayed; its status, nodes, diff and rewind still answer
// from what Temporal has, never with a 500.
func TestRunTerminatedBeforeItsFirstWorkflowTask(t *testing.T) {
	queue := "nobody-polls-" + t.Name()
	env := &testenv.Env{Server: server, TaskQueue: queue,
		Runs: runs.New(server.Client, runs.Config{TaskQueue: queue, DefaultMode: dag.ModeDAGParallel, Namespace: server.Namespace()})}
	h := newHarnessOn(t, env)
	id := h.start(map[string]any{"dag": inlineDAG("never-ran", noopNode("a", ""), noopNode("b", "", "a"))})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, server.Client.TerminateWorkflow(ctx, id, "", "nobody will run it"))

	v := h.status(id)
	assert.Equal(t, run.Terminated, v.Status)
	assert.NotNil(t, v.EndedAt)
	assert.Contains(t, v.Error, "nobody will run it")
	require.Len(t, v.Nodes, 2)
	for _, n := range v.Nodes {
		assert.Equal(t, run.NodeSkipped, n.Status, n.ID)
	}

	r := h.do(http.MethodGet, "/api/workflows/"+id+"/nodes", nil)
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	var p run.NodesPage
	r.json(t, &p)
	assert.Equal(t, 2, p.Total)

	r = h.do(http.MethodGet, "/api/workflows/"+id+"/diff", nil)
	assert.Equal(t, http.StatusNotFound, r.code, "body: %s", r.body)
	assert.Equal(t, api.CodeNoWorkspace, r.apiError(t).Code)

	r = h.do(http.MethodPost, "/api/workflows/"+id+"/rewind", map[string]any{"to": "a"})
	assert.Less(t, r.code, 500, "body: %s", r.body)
}
