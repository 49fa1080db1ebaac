package cli

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// TestTerminate terminates, with `maestro terminate`, a run whose command
// ignores SIGTERM (so that cancel would wait for its kill grace): the run
// is terminated at once (the figure is logged); a closed or unknown run, or
// no --reason, is refused saying why.
func TestTerminate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	env, cli := onServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := env.Runs.Start(ctx, runs.StartRequest{DAG: &dag.Pipeline{Name: "stubborn", Nodes: []dag.Node{{
		ID:       "stubborn",
		Executor: dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{Argv: []string{"sh", "-c", `trap "" TERM; sleep 60`}}}),
	}}}})
	require.NoError(t, err)
	id := st.WorkflowID
	require.Eventually(t, func() bool {
		s, err := env.Runs.Status(ctx, id)
		return err == nil && s.Nodes[0].Status == run.NodeRunning
	}, 20*time.Second, 50*time.Millisecond)

	r := cli("terminate", id)
	assert.Equal(t, 2, r.code, r.stderr)
	assert.Contains(t, r.stderr, "--reason is required")

	start := time.Now()
	r = cli("terminate", id, "--reason", "runaway: ignores cancel")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "terminated "+id+"\n", r.stdout)
	var final *run.Status
	require.Eventually(t, func() bool {
		final, err = env.Runs.Status(ctx, id)
		return err == nil && final.Status == run.Terminated
	}, 20*time.Second, 20*time.Millisecond)
	t.Logf("run terminated %s after `maestro terminate` started (its node ignores SIGTERM)", time.Since(start).Round(time.Millisecond))

	r = cli("terminate", id, "--reason", "again")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "maestro: run is not running: "+id+" has already closed")
	r = cli("terminate", "no-such-run", "--reason", "x")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "maestro: run not found: no-such-run")
}
