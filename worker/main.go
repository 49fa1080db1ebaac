// Command worker runs Maestro's pipeline workflow and node activities on a
// Temporal task queue. Its configuration comes from the environment (see
// package config) and flags that override it:
//
//	worker [--address host:port] [--namespace ns] [--task-queue q]
//	       [--workdir dir] [--max-output-bytes n] [--metrics-listen host:port]
//
// It serves Prometheus metrics (the Temporal SDK's and Maestro's, see package
// metrics) on http://<metrics-listen>/metrics, 127.0.0.1:9090 unless
// MAESTRO_METRICS_ADDR or the flag says otherwise; empty disables them.
// It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/cli"
	"github.com/maestrohq/maestro/metrics"
	"github.com/maestrohq/maestro/workflows"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr, config.OSEnv)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// run reads the configuration, connects to Temporal and runs a worker until
// ctx is done or the worker fails.
func run(ctx context.Context, args []string, stderr io.Writer, env config.Env) error {
	logger, err := cli.NewLogger(stderr, env, slog.LevelInfo)
	if err != nil {
		return err
	}
	cfg, err := config.Load(env)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Client.HostPort, "address", cfg.Client.HostPort, "Temporal frontend `host:port` (env TEMPORAL_ADDRESS)")
	fs.StringVar(&cfg.Client.Namespace, "namespace", cfg.Client.Namespace, "Temporal `namespace` (env TEMPORAL_NAMESPACE)")
	fs.StringVar(&cfg.TaskQueue, "task-queue", cfg.TaskQueue, "task `queue` to poll (env "+config.EnvTaskQueue+")")
	workDir := fs.String("workdir", "", "default working `dir`ectory of command nodes (default: the worker's)")
	maxOutput := fs.Int("max-output-bytes", activities.DefaultMaxOutputBytes, "cap on a node's output kept in history, in `bytes`")
	metricsAddr := fs.String("metrics-listen", config.MetricsAddr(env, config.DefaultMetricsAddr),
		"serve Prometheus metrics on `host:port` at /metrics; empty disables (env "+config.EnvMetricsAddr+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *maxOutput <= 0 {
		return fmt.Errorf("--max-output-bytes must be positive, got %d", *maxOutput)
	}
	if *workDir != "" {
		if *workDir, err = checkDir(*workDir); err != nil {
			return err
		}
	}

	cfg.Client.Logger = sdklog.NewStructuredLogger(logger)
	if *metricsAddr != "" {
		stop, err := serveMetrics(*metricsAddr, logger, &cfg.Client)
		if err != nil {
			return err
		}
		defer stop()
	}
	c, err := client.DialContext(ctx, cfg.Client)
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s (namespace %s): %w", cfg.Client.HostPort, cfg.Client.Namespace, err)
	}
	defer c.Close()

	w := worker.New(c, cfg.TaskQueue, worker.Options{})
	workflows.Register(w)
	store := artifacts.NewDir(cfg.ArtifactDir)
	activities.Register(w, activities.New(activities.Config{
		MaxOutputBytes: *maxOutput,
		WorkDir:        *workDir,
		Logger:         logger,
		Agent:          cfg.Agent,
		ArtifactStore:  store,
	}))
	logger.Info("worker started",
		"address", cfg.Client.HostPort,
		"namespace", cfg.Client.Namespace,
		"task_queue", cfg.TaskQueue,
		"workdir", *workDir,
		"max_output_bytes", *maxOutput,
		"agent_provider", cfg.Agent.Provider,
		"agent_model", cfg.Agent.Model,
		"artifact_dir", store.Root())
	if err := w.Run(interruptCh(ctx)); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	logger.Info("worker stopped")
	return nil
}

// serveMetrics serves metrics on addr and sets the SDK's metrics handler on
// opts; stop shuts the endpoint down.
func serveMetrics(addr string, logger *slog.Logger, opts *client.Options) (stop func(), err error) {
	m, err := metrics.New(metrics.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	srv, err := m.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	opts.MetricsHandler = m.SDKHandler()
	logger.Info("metrics served", "url", srv.URL())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			logger.Warn("metrics endpoint", "error", err)
		}
		if err := m.Shutdown(ctx); err != nil {
			logger.Warn("metrics", "error", err)
		}
	}, nil
}

// interruptCh adapts ctx to worker.Run: the channel is closed when ctx is done.
func interruptCh(ctx context.Context) <-chan any {
	ch := make(chan any)
	context.AfterFunc(ctx, func() { close(ch) })
	return ch
}

// checkDir returns dir as an absolute path, or an error if it is not an
// existing directory.
func checkDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("--workdir: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("--workdir: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("--workdir: %s is not a directory", abs)
	}
	return abs, nil
}
