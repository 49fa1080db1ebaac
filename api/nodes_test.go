package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/run"
)

// GET /api/workflows/{id}/nodes pages through a run's nodes, filters them by
// state, and names the bad parameter of a malformed request.
func TestRunNodesPages(t *testing.T) {
	h := newHarness(t)
	id := h.start(map[string]any{"dag": inlineDAG("paged",
		noopNode("a", ""), noopNode("b", "", "a"), noopNode("c", "", "a"), noopNode("d", "", "b", "c"), noopNode("e", ""))})
	h.waitFor(id, "completed", closed)

	var ids []string
	token := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5)
		r := h.do(http.MethodGet, "/api/workflows/"+id+"/nodes?page_size=2&page_token="+token, nil)
		require.Equal(t, http.StatusOK, r.code, "%s", r.body)
		var p run.NodesPage
		r.json(t, &p)
		assert.Equal(t, 5, p.Total)
		assert.LessOrEqual(t, len(p.Nodes), 2)
		for _, n := range p.Nodes {
			ids = append(ids, n.ID)
			assert.NotNil(t, n.DependsOn)
		}
		if token = p.NextPageToken; token == "" {
			break
		}
	}
	assert.Equal(t, []string{"a", "b", "c", "d", "e"}, ids, "declared order, each once")

	r := h.do(http.MethodGet, "/api/workflows/"+id+"/nodes?status=completed", nil)
	require.Equal(t, http.StatusOK, r.code)
	var p run.NodesPage
	r.json(t, &p)
	assert.Equal(t, 5, p.Total)
	r = h.do(http.MethodGet, "/api/workflows/"+id+"/nodes?status=failed", nil)
	r.json(t, &p)
	assert.Equal(t, 0, p.Total)
	assert.Empty(t, p.Nodes)

	for _, tc := range []struct{ query, field string }{
		{"status=sleeping", "status"},
		{"page_size=0", "page_size"},
		{"page_size=1001", "page_size"},
		{"page_token=nope", "page_token"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := h.do(http.MethodGet, "/api/workflows/"+id+"/nodes?"+tc.query, nil)
			require.Equal(t, http.StatusBadRequest, r.code, "%s", r.body)
			assert.Contains(t, string(r.body), `"`+tc.field+`"`)
		})
	}
	r = h.do(http.MethodGet, "/api/workflows/no-such-run/nodes", nil)
	assert.Equal(t, http.StatusNotFound, r.code)
}
