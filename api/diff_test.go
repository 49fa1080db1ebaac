package api_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workspace"
)

// A workspace run started over REST ends as a branch; its diffs come back
// as text (or JSON), and the errors name what is missing.
func TestWorkspaceRunAndDiffs(t *testing.T) {
	t.Parallel()
	repo := filepath.Join(t.TempDir(), "app.git")
	start, err := workspace.Init(context.Background(), "", repo)
	require.NoError(t, err)
	h := newHarnessOn(t, server.New(t, testenv.WithWorkspaces("")))

	write := map[string]any{"id": "write", "executor": map[string]any{"kind": "command",
		"argv": []string{"sh", "-c", "echo hello > hello.txt"}}}
	id := h.start(map[string]any{
		"dag":       inlineDAG("ws", write, noopNode("after", "", "write")),
		"workspace": map[string]any{"repo": repo, "ref": "main", "branch": "feature/{{.WorkflowID}}"},
	})
	v := h.waitFor(id, "completion", closed)
	require.Equal(t, "completed", string(v.Status), v.Error)
	require.NotNil(t, v.Workspace)
	assert.Equal(t, start, v.Workspace.StartSHA)
	assert.True(t, strings.HasPrefix(v.Workspace.Branch, "feature/"), v.Workspace.Branch)
	require.NotNil(t, v.Node("write").Commit)

	r := h.do(http.MethodGet, "/api/workflows/"+id+"/nodes/write/diff", nil)
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	assert.Contains(t, r.header.Get("Content-Type"), "text/x-diff")
	assert.Contains(t, string(r.body), "+hello")
	assert.Equal(t, v.Node("write").Commit.SHA, r.header.Get("X-Maestro-Diff-To"))

	r = h.do(http.MethodGet, "/api/workflows/"+id+"/diff", nil, "Accept", "application/json")
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	var d runs.CommitDiff
	r.json(t, &d)
	assert.Equal(t, start, d.From)
	assert.Equal(t, v.Workspace.Head, d.To)
	assert.Contains(t, d.Text, "hello.txt")

	r = h.do(http.MethodGet, "/api/workflows/"+id+"/nodes/after/diff", nil)
	assert.Equal(t, http.StatusConflict, r.code)
	assert.Equal(t, api.CodeNoCommit, r.apiError(t).Code)
	r = h.do(http.MethodGet, "/api/workflows/"+id+"/nodes/nope/diff", nil)
	assert.Equal(t, http.StatusNotFound, r.code)

	plain := h.start(map[string]any{"dag": inlineDAG("plain", noopNode("a", ""))})
	h.waitFor(plain, "completion", closed)
	r = h.do(http.MethodGet, "/api/workflows/"+plain+"/diff", nil)
	assert.Equal(t, http.StatusNotFound, r.code)
	assert.Equal(t, api.CodeNoWorkspace, r.apiError(t).Code)

	// A repository URL with credentials is refused before anything starts.
	r = h.do(http.MethodPost, "/api/workflows", map[string]any{
		"dag":       inlineDAG("creds", noopNode("a", "")),
		"workspace": map[string]any{"repo": "https://user:secret@example.com/app.git"},
	})
	assert.Equal(t, http.StatusUnprocessableEntity, r.code)
	assert.NotContains(t, string(r.body), "secret")
}
