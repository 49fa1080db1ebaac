package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// workerProcess is `maestro worker` running in a child process (the test
// binary re-executed, see cliChildEnv).
type workerProcess struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	// done is closed when the process has exited, with err its Wait's.
	done chan struct{}
	err  error
}

// stop sends SIGTERM and waits up to within for the process to exit; it
// reports whether it did, and Wait's error.
func (p *workerProcess) stop(within time.Duration) (bool, error) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return false, err
	}
	select {
	case <-p.done:
		return true, p.err
	case <-time.After(within):
		return false, nil
	}
}

// startWorkerProcess starts `maestro worker` in a child process with the
// given extra environment, logging as JSON into its logs.
func startWorkerProcess(t *testing.T, env []string, args ...string) *workerProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), cliChildEnv+"=worker "+strings.Join(args, " "))
	cmd.Env = append(cmd.Env, env...)
	p := &workerProcess{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	require.NoError(t, cmd.Start())
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// TestSIGTERMLetsRunningNodesFinishOrMovesThem is the graceful restart of a
// worker with runs in flight: 5 runs each run a command node on a worker
// process, which gets SIGTERM while they all run. It stops polling at once;
// the 2 nodes that end within MAESTRO_WORKER_STOP_TIMEOUT complete on it,
// the 3 longer ones are stopped when the timeout passes (their processes
// killed) and run again on a second worker. Every run completes and no node
// fails; the stopped attempts do not count against max_attempts (1 here).
func TestSIGTERMLetsRunningNodesFinishOrMovesThem(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server and worker processes")
	}
	srv := temporalServer()
	const queue = "graceful-stop-test"
	const stopTimeout = 3 * time.Second
	env := []string{
		"TEMPORAL_CONFIG_FILE=" + filepath.Join(t.TempDir(), "absent.toml"),
		config.EnvDataDir + "=" + t.TempDir(),
		config.EnvWorkerProcDir + "=" + t.TempDir(),
		config.EnvMetricsAddr + "=",
		config.EnvLogFormat + "=json",
		config.EnvPolicyKinds + "=command",
		config.EnvPolicyCommands + "=sleep",
		config.EnvWorkerStopTimeout + "=" + stopTimeout.String(),
	}
	args := []string{"--address", srv.HostPort(), "--namespace", srv.Namespace(), "--task-queue", queue}
	first := startWorkerProcess(t, env, args...)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	svc := runs.New(srv.Client, runs.Config{TaskQueue: queue, DefaultMode: dag.ModeDAGParallel})
	// Two nodes end within the stop timeout, three outlast it.
	durations := []string{"2", "2", "6", "6", "6"}
	ids := make([]string, len(durations))
	for i, d := range durations {
		st, err := svc.Start(ctx, runs.StartRequest{DAG: &dag.Pipeline{
			Name: fmt.Sprintf("graceful-%d", i),
			Nodes: []dag.Node{{
				ID:       "sleep",
				Retry:    &dag.Retry{MaxAttempts: 1},
				Executor: dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{Argv: []string{"sleep", d}}}),
			}},
		}})
		require.NoError(t, err)
		ids[i] = st.WorkflowID
	}
	require.Eventually(t, func() bool {
		for _, id := range ids {
			st, err := svc.Status(ctx, id)
			if err != nil || st.Nodes[0].Status != run.NodeRunning {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "the 5 nodes never ran at once; worker logs:\n%s", first.logs.String())

	sigterm := time.Now()
	exitedOK, err := first.stop(stopTimeout + 20*time.Second)
	require.True(t, exitedOK, "the worker did not exit within the stop timeout and its margin; logs:\n%s", first.logs.String())
	require.NoError(t, err, "the worker exits 0 on SIGTERM; logs:\n%s", first.logs.String())
	exited := time.Since(sigterm)
	t.Logf("first worker exited %s after SIGTERM (stop timeout %s)", exited.Round(time.Millisecond), stopTimeout)
	assert.GreaterOrEqual(t, exited, stopTimeout, "the worker waits for its running nodes up to the stop timeout")
	logs := first.logs.String()
	assert.Contains(t, logs, "worker stopping")
	assert.Equal(t, 2, strings.Count(logs, `"msg":"node completed"`), "the short nodes completed on the stopping worker:\n%s", logs)
	assert.Equal(t, 3, strings.Count(logs, "it runs again on another worker"), logs)

	second := startWorkerProcess(t, env, args...)
	for i, id := range ids {
		st, err := svc.Wait(ctx, id)
		require.NoError(t, err, "second worker logs:\n%s", second.logs.String())
		assert.Equal(t, run.Completed, st.Status, "%s: %s", id, st.Error)
		assert.Zero(t, st.Counts[run.NodeFailed], id)
		n := st.Nodes[0]
		assert.Equal(t, run.NodeCompleted, n.Status, id)
		if durations[i] == "2" {
			assert.Equal(t, int32(1), n.Attempts, "%s ended within the stop timeout", id)
		} else {
			assert.Equal(t, int32(2), n.Attempts, "%s was stopped and ran again", id)
		}
	}
	t.Logf("all 5 runs completed %s after SIGTERM", time.Since(sigterm).Round(time.Millisecond))
	exitedOK, err = second.stop(30 * time.Second)
	require.True(t, exitedOK, "the idle second worker did not exit on SIGTERM")
	require.NoError(t, err)
}
