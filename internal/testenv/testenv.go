// Package testenv starts a real Temporal server in the test process, with
// real workers running Maestro's workflow and activities, for integration
// tests.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/devserver"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workspace"
)

// Server is a running in-process Temporal server shared by a package's tests.
type Server struct {
	ts     *temporaltest.TestServer
	Client client.Client
	queues atomic.Int64
}

// Start starts a server; call Stop when done (usually from TestMain).
func Start() *Server {
	quiet := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ts := temporaltest.NewServer(
		temporaltest.WithBaseServerOptions(temporal.WithDynamicConfigClient(devserver.DynamicConfig())),
		temporaltest.WithBaseClientOptions(client.Options{Logger: quiet}),
	)
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := runs.EnsureSearchAttributes(ctx, c, ts.GetDefaultNamespace()); err != nil {
		ts.Stop()
		panic(fmt.Sprintf("testenv: %v", err))
	}
	return &Server{ts: ts, Client: c}
}

// StartReplaying is Start for a test process whose workers keep no run in
// their workflow cache: every workflow task and every query replays the
// run's history from its start, as after a worker restart or on a busy
// worker that evicted the run. Workflow code that is not deterministic, or
// a query that sees what Temporal has not recorded yet, then fails the
// package's tests, not only the recorded replays. It changes a setting of
// the whole process: call it from TestMain, before any worker starts.
func StartReplaying() *Server {
	worker.SetStickyWorkflowCacheSize(0)
	return Start()
}

// Stop stops the server and its clients.
func (s *Server) Stop() { s.ts.Stop() }

// HostPort is the server's frontend address.
func (s *Server) HostPort() string { return s.ts.GetFrontendHostPort() }

// Namespace is the server's test namespace.
func (s *Server) Namespace() string { return s.ts.GetDefaultNamespace() }

// Env is one test's view: its own task queue, a worker on it and a runs
// service starting runs there.
type Env struct {
	Server    *Server
	TaskQueue string
	Runs      *runs.Service
	// Worker is the worker New started; stopping it early is fine.
	Worker worker.Worker

	activities   activities.Config
	workspaceDir string
}

// Option configures an Env.
type Option func(*Env)

// WithActivities makes the Env's workers run activities with cfg (e.g. an
// agent provider or an artifact store); a nil Logger stays quiet.
func WithActivities(cfg activities.Config) Option {
	return func(e *Env) { e.activities = cfg }
}

// WithWorkspaces gives the Env's first worker and its runs service (for
// diffs) a git workspace directory: dir, or a new temporary one when dir
// is empty. Workspace runs need it.
func WithWorkspaces(dir string) Option {
	return func(e *Env) {
		e.workspaceDir = dir
		if dir == "" {
			e.workspaceDir = "temp"
		}
	}
}

// New gives the test its own task queue and runs service, and starts a worker
// on that queue that stops when the test ends.
func (s *Server) New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	e := &Env{Server: s, TaskQueue: fmt.Sprintf("test-%d", s.queues.Add(1))}
	for _, o := range opts {
		o(e)
	}
	if e.activities.Logger == nil {
		e.activities.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	rc := runs.Config{TaskQueue: e.TaskQueue, DefaultMode: dag.ModeDAGParallel, Namespace: s.Namespace()}
	if e.workspaceDir != "" {
		if e.workspaceDir == "temp" {
			e.workspaceDir = t.TempDir()
		}
		m, err := workspace.New(context.Background(), workspace.Options{Dir: e.workspaceDir})
		if err != nil {
			t.Fatalf("workspace manager: %v", err)
		}
		e.activities.Workspaces = m
		rc.Workspaces = func() (*workspace.Manager, error) { return m, nil }
	}
	e.Runs = runs.New(s.Client, rc)
	e.Worker = e.StartWorker(t)
	return e
}

// StartWorker starts another worker on the test's queue and returns it; it is
// stopped when the test ends (stopping it earlier is fine).
func (e *Env) StartWorker(t testing.TB) worker.Worker {
	t.Helper()
	return e.StartWorkerWith(t, e.activities)
}

// StartWorkerWith is StartWorker with its own activities' configuration
// (e.g. another workspace directory).
func (e *Env) StartWorkerWith(t testing.TB, cfg activities.Config) worker.Worker {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = e.activities.Logger
	}
	w := process.NewWorker(e.Server.Client, e.TaskQueue, worker.Options{WorkerStopTimeout: 2 * time.Second}, cfg)
	if err := w.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			w.Stop()
		}
	})
	return &stoppable{Worker: w, stopped: &stopped}
}

type stoppable struct {
	worker.Worker
	stopped *bool
}

func (s *stoppable) Stop() {
	if !*s.stopped {
		*s.stopped = true
		s.Worker.Stop()
	}
}
