package workflows_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// A retry reuses a node whose output was cut in history: its dependent still
// gets the full output, from the artifact filed under the first run.
func TestRetryGivesDependentsTheReusedNodesFullOutput(t *testing.T) {
	t.Parallel()
	store := artifacts.NewDir(t.TempDir())
	e := server.New(t, testenv.WithActivities(activities.Config{ArtifactStore: store, MaxOutputBytes: 1024}))
	flag := filepath.Join(t.TempDir(), "broken")
	require.NoError(t, os.WriteFile(flag, nil, 0o644))
	big := strings.Repeat("x", 5000)
	p := pipeline("retry-artifacts", dag.ModeDAGParallel,
		command("a", []string{"printf", "%s", big}),
		command("b", []string{"sh", "-c", `test ! -e "$0" && printf '%s' "$MAESTRO_INPUT_A" | wc -c`, flag}, "a"))
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Failed, st.Status)
	require.True(t, st.Node("a").OutputTruncated)

	require.NoError(t, os.Remove(flag))
	ctx := context.Background()
	retried, err := e.Runs.Retry(ctx, st.WorkflowID)
	require.NoError(t, err)
	st2, err := e.Runs.Wait(ctx, retried.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st2.Status, st2.Error)
	assert.True(t, st2.Node("a").Reused)
	assert.Equal(t, "5000", strings.TrimSpace(st2.Node("b").Output), "b saw a's full output, not the capped one")
}
