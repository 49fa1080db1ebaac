package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/devserver"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workflows"
)

// Command runs the comparison and prints its Markdown (`maestro bench`).
const Command = "go run ./cmd/maestro bench"

// RunOptions configure Run.
type RunOptions struct {
	// Quick runs every measurement at a small size, in well under a minute:
	// a check of the setup, not figures to publish.
	Quick bool
	// Log receives progress lines and the server's and worker's warnings;
	// nil discards them.
	Log io.Writer
}

// Run starts an embedded Temporal server as `maestro dev` does (SQLite in a
// temporary directory, the same tuned dynamic config) and one worker on it
// that runs both Maestro's DAGWorkflow, with its node activities, and the
// plain workflow; it runs Compare and writes the Markdown section for
// docs/BENCHMARKS.md to out. Everything it started is stopped and removed
// when it returns.
func Run(ctx context.Context, o RunOptions, out io.Writer) error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	logger := slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := os.MkdirTemp("", "maestro-bench-")
	if err != nil {
		return fmt.Errorf("bench: data directory: %w", err)
	}
	defer os.RemoveAll(dir)
	addr, err := devserver.FreeAddr()
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	fmt.Fprintf(o.Log, "bench: starting Temporal on %s (SQLite in %s)\n", addr, dir)
	srv, err := devserver.Start(devserver.Options{
		DataDir:          dir,
		FrontendAddr:     addr,
		Namespace:        process.DevNamespace,
		SearchAttributes: workflows.SearchAttributes(),
		// Errors only: stopping the server makes its own clients warn.
		Logger: slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer srv.Stop()
	dialCtx, cancel := context.WithTimeout(ctx, process.DialTimeout)
	c, err := client.DialContext(dialCtx, client.Options{HostPort: addr, Namespace: process.DevNamespace, Logger: sdklog.NewStructuredLogger(logger)})
	cancel()
	if err != nil {
		return fmt.Errorf("bench: connect to Temporal at %s: %w", addr, err)
	}
	defer c.Close()

	const queue = "maestro-bench"
	w := process.NewWorker(c, queue, worker.Options{WorkerStopTimeout: 5 * time.Second}, activities.Config{Logger: logger})
	RegisterPlain(w)
	if err := w.Start(); err != nil {
		return fmt.Errorf("bench: start worker: %w", err)
	}
	defer w.Stop()

	opts := Options{
		Client:    c,
		TaskQueue: queue,
		Runs:      runs.New(c, runs.Config{TaskQueue: queue, DefaultMode: dag.ModeDAGParallel}),
		Log:       o.Log,
	}
	if o.Quick {
		opts.LatencyRuns, opts.ThroughputRuns, opts.Concurrency = 10, 20, []int{10}
		opts.ChainNodes, opts.Repeats = 10, 1
		opts.ScaleSizes, opts.PlainScaleMax = []int{100, 500}, 500
	}
	r, err := Compare(ctx, opts)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	r.Command = Command
	if o.Quick {
		r.Command += " --quick"
	}
	return r.Markdown(out, ThisMachine())
}
