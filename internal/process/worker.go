package process

import (
	"context"
	"fmt"
	"github.com/maestrohq/maestro/pricing"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/procrecord"
	"github.com/maestrohq/maestro/metrics"
	"github.com/maestrohq/maestro/workflows"
	"github.com/maestrohq/maestro/workspace"
)

// WorkerOptions are a worker's settings beyond the configuration (its
// command-line flags).
type WorkerOptions struct {
	// WorkDir is the default working directory of command nodes; empty
	// means the process's.
	WorkDir string
	// MaxOutputBytes caps a node's output kept in history; 0 means the
	// default.
	MaxOutputBytes int
}

// Activities returns the node activities' configuration for cfg.
func Activities(cfg config.Config, logger *slog.Logger, o WorkerOptions) (activities.Config, error) {
	agent, err := agentDefaults(cfg.Agent)
	if err != nil {
		return activities.Config{}, fmt.Errorf("agent settings: %w", err)
	}
	pol, err := WorkerPolicy(cfg)
	if err != nil {
		return activities.Config{}, err
	}
	prices, err := config.LoadPrices(cfg.PricesFile)
	if err != nil {
		return activities.Config{}, err
	}
	table := pricing.Table{}
	for model, p := range prices {
		table[model] = pricing.Price{Input: p.Input, Output: p.Output, CacheRead: p.CacheRead, CacheWrite: p.CacheWrite}
	}
	acts := activities.Config{
		Prices:         pricing.With(table),
		Policy:         pol,
		MaxOutputBytes: o.MaxOutputBytes,
		WorkDir:        o.WorkDir,
		Logger:         logger,
		Agent:          agent,
		ArtifactStore:  artifacts.NewDir(cfg.ArtifactDir),
		ProcessDir:     cfg.WorkerProcDir,
		StopTimeout:    cfg.WorkerStopTimeout,

		MaxTemplateBytes: cfg.Template.MaxBytes,
		TemplateTimeout:  cfg.Template.Timeout,
	}
	acts.Workspaces, acts.WorkspacesUnavailable = workspaces(cfg, logger)
	return acts, nil
}

// closeWorkspaces removes the checkouts the worker keeps for reuse.
func closeWorkspaces(acts activities.Config, logger *slog.Logger) {
	if acts.Workspaces == nil {
		return
	}
	if err := acts.Workspaces.Close(); err != nil {
		logger.Warn("cannot remove idle checkouts", "error", err)
	}
}

// workspaces returns the worker's git workspace manager, its checkouts
// left by an earlier process removed; without git (or a usable directory)
// the worker runs everything but workspace runs, and says why.
func workspaces(cfg config.Config, logger *slog.Logger) (*workspace.Manager, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := workspace.New(ctx, workspace.Options{Dir: cfg.WorkspaceDir, Logger: logger})
	if err != nil {
		logger.Warn("workspace runs are not available on this worker", "error", err)
		return nil, err
	}
	if err := m.Sweep(ctx); err != nil {
		logger.Warn("cannot remove checkouts left by an earlier worker", "dir", cfg.WorkspaceDir, "error", err)
	}
	return m, nil
}

// agentDefaults turns the configured agent provider into the activities'
// defaults, checked.
func agentDefaults(a config.Agent) (activities.AgentDefaults, error) {
	d := activities.AgentDefaults{
		Provider:  a.Provider,
		Model:     a.Model,
		BaseURL:   a.BaseURL,
		APIKeyEnv: a.APIKeyEnv,
		MaxTokens: a.MaxTokens,
		Command:   a.Command,
		Preset:    a.Preset,
	}
	return d, d.Validate()
}

// StopMargin is how much longer than MAESTRO_WORKER_STOP_TIMEOUT a stopping
// worker waits for its running nodes: once the stop timeout has passed, a
// node's attempt kills its processes (SIGTERM, SIGKILL a few seconds later)
// and reports that it stopped, so that Temporal retries it at once on
// another worker; the margin lets that report reach Temporal before the
// process exits.
const StopMargin = 10 * time.Second

// SDKWorkerOptions returns the SDK worker options of cfg's workers: they stop
// polling at once when stopped, and wait for their running nodes up to the
// stop timeout plus StopMargin.
func SDKWorkerOptions(cfg config.Config) worker.Options {
	return worker.Options{WorkerStopTimeout: cfg.WorkerStopTimeout + StopMargin}
}

// NewWorker returns a worker polling queue that runs Maestro's workflow and
// node activities (configured by acts). It is not started. Unless opts say
// otherwise, it sends a node's heartbeats as they come (at most one a
// second, activities.HeartbeatEvery), so that a cancelled node stops within
// about a second rather than at the SDK's default throttle of 80 % of its
// heartbeat timeout.
func NewWorker(c client.Client, queue string, opts worker.Options, acts activities.Config) worker.Worker {
	if opts.MaxHeartbeatThrottleInterval == 0 {
		opts.MaxHeartbeatThrottleInterval = activities.HeartbeatEvery
	}
	w := worker.New(c, queue, opts)
	workflows.Register(w)
	activities.Register(w, activities.New(acts))
	return w
}

// RunWorker is the worker process: it kills what the commands of crashed
// workers left running (CleanupProcesses), serves metrics (when
// cfg.MetricsAddr is set), connects to Temporal and runs a worker until ctx
// is done.
func RunWorker(ctx context.Context, cfg config.Config, o WorkerOptions, logger *slog.Logger) error {
	acts, err := Activities(cfg, logger, o)
	if err != nil {
		return err
	}
	defer closeWorkspaces(acts, logger)
	if err := CleanupProcesses(acts, logger); err != nil {
		return err
	}
	var handler client.MetricsHandler
	if cfg.MetricsAddr != "" {
		m, stop, err := ServeMetrics(cfg.MetricsAddr, logger)
		if err != nil {
			return err
		}
		defer stop()
		handler = m.SDKHandler()
	}
	c, err := Dial(ctx, cfg, logger, handler)
	if err != nil {
		return err
	}
	defer c.Close()
	w := NewWorker(c, cfg.TaskQueue, SDKWorkerOptions(cfg), acts)
	logger.Info("worker started",
		"address", cfg.Client.HostPort,
		"namespace", cfg.Client.Namespace,
		"task_queue", cfg.TaskQueue,
		"workdir", o.WorkDir,
		"max_output_bytes", o.MaxOutputBytes,
		"agent_provider", acts.Agent.Provider,
		"agent_model", acts.Agent.Model,
		"artifact_dir", cfg.ArtifactDir,
		"proc_dir", acts.ProcessDir,
		"template_max_bytes", acts.MaxTemplateBytes,
		"template_timeout", acts.TemplateTimeout,
		"stop_timeout", acts.StopTimeout)
	LogPolicy(logger, cfg, acts.Policy)
	var stopping time.Time
	if err := w.Run(interruptCh(ctx, logger, cfg.WorkerStopTimeout, &stopping)); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	logger.Info("worker stopped", "took", time.Since(stopping))
	return nil
}

// CleanupProcesses kills the processes that the commands of dead workers
// left running, as recorded in acts.ProcessDir (see package procrecord), so
// that none runs on beside its node's retry. A worker runs it before it
// polls; an empty ProcessDir records nothing and leaves nothing to do.
func CleanupProcesses(acts activities.Config, logger *slog.Logger) error {
	if acts.ProcessDir == "" {
		return nil
	}
	if err := procrecord.Cleanup(acts.ProcessDir, logger); err != nil {
		return fmt.Errorf("%w (%s)", err, config.EnvWorkerProcDir)
	}
	return nil
}

// ServeMetrics serves a new metrics registry's /metrics on addr; stop shuts
// the endpoint and the registry down.
func ServeMetrics(addr string, logger *slog.Logger) (m *metrics.Metrics, stop func(), err error) {
	m, err = metrics.New(metrics.Options{Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	srv, err := m.Listen(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics address %s (--metrics-listen or %s): %w", addr, config.EnvMetricsAddr, err)
	}
	logger.Info("metrics served", "url", srv.URL())
	return m, func() {
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

// interruptCh adapts ctx to worker.Run: the channel is closed when ctx is
// done, which stopping records.
func interruptCh(ctx context.Context, logger *slog.Logger, stopTimeout time.Duration, stopping *time.Time) <-chan any {
	ch := make(chan any)
	context.AfterFunc(ctx, func() {
		*stopping = time.Now()
		logger.Info("worker stopping: no new tasks; running nodes may finish", "stop_timeout", stopTimeout)
		close(ch)
	})
	return ch
}
