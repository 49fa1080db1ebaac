package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/run"
)

func TestApproveNode(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gate := map[string]any{"id": "gate", "depends_on": []string{"build"}, "executor": map[string]any{"kind": "approval"}}
	id := h.start(map[string]any{"dag": inlineDAG("gated", noopNode("build", ""), gate, noopNode("deploy", "", "gate"))})
	v := h.waitFor(id, "gate waiting", nodeIs("gate", run.NodeWaitingApproval))
	assert.Equal(t, "pending", string(node(v, "deploy").Status))

	bad := []struct {
		name, path string
		body       any
		code       int
		errCode    string
	}{
		{"approved missing", "/approve/gate", map[string]any{"comment": "x"}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"unknown field", "/approve/gate", map[string]any{"approved": true, "approver": "x"}, http.StatusBadRequest, api.CodeMalformedJSON},
		{"not an approval node", "/approve/build", map[string]any{"approved": true}, http.StatusConflict, api.CodeApprovalRefused},
		{"comment too long", "/approve/gate", map[string]any{"approved": true, "comment": strings.Repeat("c", run.MaxDecisionText+1)}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"no such node", "/approve/nope", map[string]any{"approved": true}, http.StatusConflict, api.CodeApprovalRefused},
	}
	for _, b := range bad {
		r := h.do(http.MethodPost, "/api/workflows/"+id+b.path, b.body)
		assert.Equal(t, b.code, r.code, "%s: %s", b.name, r.body)
		assert.Equal(t, b.errCode, r.apiError(t).Code, b.name)
	}
	r := h.do(http.MethodPost, "/api/workflows/no-such-run/approve/gate", map[string]any{"approved": true})
	assert.Equal(t, http.StatusNotFound, r.code, "body: %s", r.body)

	r = h.do(http.MethodPost, "/api/workflows/"+id+"/approve/gate", map[string]any{"approved": true, "by": "ana", "comment": "lgtm"})
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	var n api.NodeView
	r.json(t, &n)
	assert.Equal(t, run.NodeCompleted, n.Status)
	require.NotNil(t, n.Approval)
	assert.Equal(t, "ana", n.Approval.By)

	v = h.waitFor(id, "completed", closed)
	assert.Equal(t, run.Completed, v.Status)
	assert.Equal(t, "approved by ana: lgtm", node(v, "gate").Output)
	again := h.do(http.MethodPost, "/api/workflows/"+id+"/approve/gate", map[string]any{"approved": false})
	assert.Equal(t, http.StatusConflict, again.code, "body: %s", again.body)
}

// Decisions for a gate that does not wait yet are kept (the last one
// applies when it waits), up to a limit: each stays in the run's history.
func TestEarlyDecisionsAreBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	// The gate waits behind another gate the test holds: no timing.
	first := map[string]any{"id": "first", "executor": map[string]any{"kind": "approval"}}
	gate := map[string]any{"id": "gate", "depends_on": []string{"first"}, "executor": map[string]any{"kind": "approval"}}
	id := h.start(map[string]any{"dag": inlineDAG("early", first, gate)})
	h.waitFor(id, "first waiting", nodeIs("first", run.NodeWaitingApproval))

	for i := range 10 {
		r := h.do(http.MethodPost, "/api/workflows/"+id+"/approve/gate", map[string]any{"approved": i%2 == 1, "by": fmt.Sprint("p", i)})
		require.Equal(t, http.StatusOK, r.code, "decision %d: %s", i, r.body)
	}
	r := h.do(http.MethodPost, "/api/workflows/"+id+"/approve/gate", map[string]any{"approved": false, "by": "late"})
	assert.Equal(t, http.StatusConflict, r.code, "body: %s", r.body)
	e := r.apiError(t)
	assert.Equal(t, api.CodeApprovalRefused, e.Code)
	assert.Contains(t, e.Message, "10 decisions were already sent")

	r = h.do(http.MethodPost, "/api/workflows/"+id+"/approve/first", map[string]any{"approved": true})
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	v := h.waitFor(id, "completed", closed)
	assert.Equal(t, run.Completed, v.Status)
	assert.Equal(t, "approved by p9", node(v, "gate").Output, "the last decision kept applies")
}
