package cli

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/templates"
)

// maestro rewind against a real server: a completed sdlc-parallel run
// rewound to testing completes again with testing, review and deployment
// run again; an unknown node and a missing --to are refused.
func TestRewindCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	env, cli := onServer(t)
	r := cli("start", "--template", templates.SDLCParallel, "--requirement", "x", "--wait")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	id := workflowIDLine.FindStringSubmatch(r.stdout)[1]

	r = cli("rewind", id, "--to", "testing", "--wait")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "rewound "+id+" to testing (event ")
	assert.Contains(t, r.stdout, "runs again:   testing, review, deployment\n")
	assert.Contains(t, r.stdout, "keeps result: requirements, design, backend, frontend\n")
	assert.Contains(t, r.stdout, "status:    completed, 7/7 nodes completed\n")

	r = cli("rewind", id, "--to", "review", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var out rewindResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out), r.stdout)
	assert.Equal(t, []string{"deployment"}, out.Rerun)
	st, err := env.Runs.Wait(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, run.Completed, st.Status)
	assert.Equal(t, out.RunID, st.RunID)

	r = cli("rewind", id, "--to", "nope")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, `to: run `+id+` has no node "nope"`)

	r = cli("rewind", id)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--to")
}
