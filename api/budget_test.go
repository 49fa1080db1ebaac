package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/run"
)

func TestExtendBudget(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	gate := map[string]any{"id": "gate", "depends_on": []string{"build"}, "executor": map[string]any{"kind": "approval"}}
	budgeted := inlineDAG("budgeted", noopNode("build", ""), gate)
	budgeted["budget"] = map[string]any{"usd": 1.5, "tokens": 1000}
	id := h.start(map[string]any{"dag": budgeted, "budget": map[string]any{"usd": 2}})
	v := h.waitFor(id, "gate waiting", nodeIs("gate", run.NodeWaitingApproval))
	require.NotNil(t, v.Budget)
	assert.Equal(t, run.Budget{Tokens: 1000, USD: 2}, *v.Budget, "the request overrides the pipeline's usd")

	plain := h.start(map[string]any{"dag": inlineDAG("plain", noopNode("build", ""), gate)})
	h.waitFor(plain, "gate waiting", nodeIs("gate", run.NodeWaitingApproval))

	bad := []struct {
		name, id string
		body     any
		code     int
		errCode  string
	}{
		{"nothing to add", id, map[string]any{}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"negative", id, map[string]any{"add_usd": -1}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"both", id, map[string]any{"add_usd": 1, "reject": true}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"unknown field", id, map[string]any{"usd": 1}, http.StatusBadRequest, api.CodeMalformedJSON},
		{"not a number", id, map[string]any{"add_usd": "5"}, http.StatusBadRequest, api.CodeMalformedJSON},
		{"usd over the limit", id, map[string]any{"add_usd": 1e308}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"tokens over the limit", id, map[string]any{"add_tokens": 2e12}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"comment too long", id, map[string]any{"add_usd": 1, "comment": strings.Repeat("c", run.MaxDecisionText+1)}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"no budget", plain, map[string]any{"add_usd": 1}, http.StatusConflict, api.CodeBudgetRefused},
		{"nothing waits to reject", id, map[string]any{"reject": true}, http.StatusConflict, api.CodeBudgetRefused},
		{"unknown run", "no-such-run", map[string]any{"add_usd": 1}, http.StatusNotFound, api.CodeRunNotFound},
	}
	for _, b := range bad {
		r := h.do(http.MethodPost, "/api/workflows/"+b.id+"/budget", b.body)
		assert.Equal(t, b.code, r.code, "%s: %s", b.name, r.body)
		assert.Equal(t, b.errCode, r.apiError(t).Code, b.name)
	}

	r := h.do(http.MethodPost, "/api/workflows/"+id+"/budget", map[string]any{"add_usd": 5, "add_tokens": 100000, "by": "ana"})
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	var b run.Budget
	r.json(t, &b)
	assert.Equal(t, run.Budget{Tokens: 101000, USD: 7}, b)
	v = h.waitFor(id, "budget shown", func(v *api.RunView) bool { return v.Budget != nil && v.Budget.USD == 7 })
	assert.Equal(t, 101000, v.Budget.Tokens)

	for _, wid := range []string{id, plain} {
		r = h.do(http.MethodPost, "/api/workflows/"+wid+"/approve/gate", map[string]any{"approved": true})
		require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	}
	h.waitFor(id, "completed", closed)
	r = h.do(http.MethodPost, "/api/workflows/"+id+"/budget", map[string]any{"add_usd": 1})
	assert.Equal(t, http.StatusConflict, r.code, "closed: %s", r.body)
	assert.Equal(t, api.CodeRunNotRunning, r.apiError(t).Code)
}
