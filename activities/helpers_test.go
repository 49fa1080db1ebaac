package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

func TestMain(m *testing.M) {
	// Heartbeat often and give killed commands a short grace so the tests
	// stay fast; the production values are exercised by the same code.
	heartbeatEvery = func(context.Context) time.Duration { return 20 * time.Millisecond }
	killGrace = 500 * time.Millisecond
	os.Exit(m.Run())
}

// harness runs ExecuteNode in Temporal's activity test environment.
type harness struct {
	t          *testing.T
	env        *testsuite.TestActivityEnvironment
	logs       *syncBuffer
	heartbeats atomic.Int32
}

type harnessOpt func(*Config, *worker.Options)

// withBackground runs the activity under ctx, so that cancelling ctx (or its
// deadline) cancels the attempt as a server cancellation or timeout would.
func withBackground(ctx context.Context) harnessOpt {
	return func(_ *Config, o *worker.Options) { o.BackgroundActivityContext = ctx }
}

func withConfig(f func(*Config)) harnessOpt {
	return func(c *Config, _ *worker.Options) { f(c) }
}

// withEnv makes the worker environment exactly vars (plus the real PATH
// unless vars sets it).
func withEnv(vars map[string]string) harnessOpt {
	return withConfig(func(c *Config) {
		c.Getenv = func(k string) string {
			if v, ok := vars[k]; ok {
				return v
			}
			if k == "PATH" {
				return os.Getenv("PATH")
			}
			return ""
		}
	})
}

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, logs: &syncBuffer{}}
	cfg := Config{Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	var wo worker.Options
	for _, o := range opts {
		o(&cfg, &wo)
	}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	h.env = s.NewTestActivityEnvironment()
	h.env.SetWorkerOptions(wo)
	h.env.SetTestTimeout(20 * time.Second)
	h.env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) {
		h.heartbeats.Add(1)
	})
	Register(h.env, New(cfg))
	return h
}

// run executes one attempt (attempt 1) of node.
func (h *harness) run(node dag.Node, mods ...func(*run.NodeInput)) (run.NodeResult, error) {
	h.t.Helper()
	in := run.NodeInput{WorkflowID: "wf-1", Pipeline: "demo", Node: node}
	for _, m := range mods {
		m(&in)
	}
	v, err := h.env.ExecuteActivity(ExecuteNodeName, in)
	if err != nil {
		return run.NodeResult{}, err
	}
	var res run.NodeResult
	require.NoError(h.t, v.Get(&res))
	return res, nil
}

// mustRun executes node and requires success.
func (h *harness) mustRun(node dag.Node, mods ...func(*run.NodeInput)) run.NodeResult {
	h.t.Helper()
	res, err := h.run(node, mods...)
	require.NoError(h.t, err)
	require.Equal(h.t, int32(1), res.Attempt)
	return res
}

// appError requires err to be an ApplicationError of type typ with the given
// retryability and a run.Failure for attempt 1, and returns both.
func appError(t *testing.T, err error, typ string, retryable bool) (*temporal.ApplicationError, run.Failure) {
	t.Helper()
	require.Error(t, err)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an ApplicationError, got %T: %v", err, err)
	require.Equal(t, typ, appErr.Type(), "message: %s", appErr.Message())
	require.Equal(t, !retryable, appErr.NonRetryable(), "retryable")
	var f run.Failure
	require.True(t, appErr.HasDetails(), "details")
	require.NoError(t, appErr.Details(&f))
	require.Equal(t, int32(1), f.Attempt)
	return appErr, f
}

func withInputs(inputs map[string]string) func(*run.NodeInput) {
	return func(in *run.NodeInput) { in.Inputs = inputs }
}

func withParams(params map[string]any) func(*run.NodeInput) {
	return func(in *run.NodeInput) { in.Params = params }
}

func cmdNode(argv ...string) dag.Node {
	return dag.Node{ID: "build", Executor: dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{Argv: argv}})}
}

// processGone reports whether pid no longer runs (absent, or a zombie
// waiting for a parent that does not reap).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
