package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/run"
)

func TestApproveCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	env, cli := onServer(t)
	file := filepath.Join(t.TempDir(), "gated.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`name: gated
mode: dag_parallel
nodes:
  - {id: gate, executor: {kind: approval}}
  - {id: deploy, depends_on: [gate], executor: {kind: noop}}
`), 0o644))
	r := cli("start", "--file", file, "--id", "gated-"+env.TaskQueue)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	id := "gated-" + env.TaskQueue

	r = cli("approve", id, "deploy")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `node "deploy": is not an approval node`)
	r = cli("approve", id)
	assert.Equal(t, 2, r.code, "the node is required")

	r = cli("approve", id, "gate", "--by", "ana", "--comment", "ship it")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	st, err := env.Runs.Wait(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, run.Completed, st.Status)
	assert.Equal(t, "approved by ana: ship it", st.Node("gate").Output)

	r = cli("approve", id, "gate", "--reject")
	assert.Equal(t, 1, r.code, "a closed run takes no decision")
}
