package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExamplePipelineRunsAsWritten checks that the README shows
// examples/release.yaml as it is, and that the file validates and runs to
// completion through the CLI on a real server; only its hook parameter
// points at a stand-in for maestro dev's API, which this test does not run.
func TestExamplePipelineRunsAsWritten(t *testing.T) {
	file := filepath.Join("..", "..", "examples", "release.yaml")
	example, err := os.ReadFile(file)
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	assert.Contains(t, string(readme), "```yaml\n"+string(example)+"```", "the README shows the example as it is")

	r := runCLI(t, nil, "validate", file)
	require.Equal(t, 0, r.code, r.stderr)
	if testing.Short() {
		return
	}

	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.Header.Get("X-Requirement") == "Add CSV export to the reports page" {
			calls.Add(1)
		}
		_, _ = w.Write([]byte(`{"status":"healthy"}`))
	}))
	defer hook.Close()
	env := temporalServer().New(t)
	r = runCLI(t, nil, "start", "--file", file, "--param", "hook="+hook.URL+"/health", "--wait",
		"--address", server.HostPort(), "--namespace", server.Namespace(), "--task-queue", env.TaskQueue)
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Equal(t, int32(1), calls.Load(), "notify called the hook once, with the requirement")
	assert.Regexp(t, `(?m)^\s*wait\s.*completed`, r.stdout)
}
