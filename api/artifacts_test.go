package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/internal/testenv"
)

func TestArtifacts(t *testing.T) {
	t.Parallel()
	store := artifacts.NewDir(t.TempDir())
	env := server.New(t, testenv.WithActivities(activities.Config{ArtifactStore: store, MaxOutputBytes: 1024}))
	h := newHarnessOn(t, env, func(c *api.Config) { c.Artifacts = store })

	big := strings.Repeat("0123456789", 1000) // over the history cap
	plan := noopNode("plan", "")
	plan["executor"].(map[string]any)["output"] = big
	id := h.start(map[string]any{"dag": inlineDAG("artifacts", plan, noopNode("build", "", "plan"))})
	v := h.waitFor(id, "completed", closed)
	require.Equal(t, "completed", string(v.Status), v.Error)
	assert.True(t, node(v, "plan").OutputTruncated, "history keeps a capped summary")

	r := h.do(http.MethodGet, "/api/workflows/"+id+"/artifacts", nil)
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	var list api.ArtifactList
	r.json(t, &list)
	require.Len(t, list.Artifacts, 2)
	assert.Equal(t, "build", list.Artifacts[0].Node)
	assert.Equal(t, "plan", list.Artifacts[1].Node)
	assert.EqualValues(t, len(big), list.Artifacts[1].Bytes)

	r = h.do(http.MethodGet, "/api/workflows/"+id+"/artifacts/plan", nil)
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	assert.Equal(t, big, string(r.body), "the full output is served")

	for _, tc := range []struct {
		path string
		code int
	}{
		{"/api/workflows/" + id + "/artifacts/nope", http.StatusNotFound},
		{"/api/workflows/no-such-run/artifacts", http.StatusNotFound},
		{"/api/workflows/no-such-run/artifacts/plan", http.StatusNotFound},
		{"/api/workflows/" + id + "/artifacts/..", http.StatusBadRequest},
	} {
		r := h.do(http.MethodGet, tc.path, nil)
		assert.Equal(t, tc.code, r.code, "%s: %s", tc.path, r.body)
	}
}
