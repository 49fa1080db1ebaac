// Package devmode runs all of Maestro in one process for trying it out and
// for development: an embedded Temporal server persisting to a SQLite file,
// the Temporal Web UI, a worker and the REST API.
package devmode

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/devserver"
	"github.com/maestrohq/maestro/metrics"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workflows"
)

// Environment variables that set the dev mode's defaults (flags win).
const (
	EnvDataDir     = "MAESTRO_DATA_DIR"
	EnvTemporalAdd = "MAESTRO_TEMPORAL_LISTEN"
	EnvUIAddr      = "MAESTRO_UI_LISTEN"
	EnvAPIAddr     = api.EnvAddr
)

// Defaults, as the temporal CLI's dev server uses them.
const (
	DefaultDataDir      = ".maestro"
	DefaultTemporalAddr = "127.0.0.1:7233"
	DefaultUIAddr       = "127.0.0.1:8233"
	DefaultAPIAddr      = api.DefaultAddr
)

// Options configures Run.
type Options struct {
	DataDir      string
	TemporalAddr string
	UIAddr       string // "" disables the Web UI
	APIAddr      string // "" disables the API
	Namespace    string
	TaskQueue    string
	DefaultMode  dag.Mode
	// APIToken, when set, is the bearer token the API requires (env
	// MAESTRO_API_TOKEN).
	APIToken string
	// Agent is the agent provider configuration (MAESTRO_AGENT_*).
	Agent activities.AgentDefaults
	// ArtifactDir holds node outputs: MAESTRO_ARTIFACT_DIR, else
	// DataDir/artifacts.
	ArtifactDir string
}

// ParseOptions reads the dev command's flags over the environment's values.
func ParseOptions(args []string, env config.Env, stderr io.Writer) (Options, error) {
	get := func(k, def string) string {
		if v, ok := env.LookupEnv(k); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	cfg, err := config.Load(env)
	if err != nil {
		return Options{}, err
	}
	o := Options{TaskQueue: cfg.TaskQueue, DefaultMode: cfg.DefaultMode, APIToken: get(api.EnvToken, ""),
		Agent: cfg.Agent, ArtifactDir: get(artifacts.EnvDir, "")}
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.DataDir, "data-dir", get(EnvDataDir, DefaultDataDir), "`dir`ectory of the Temporal database (env "+EnvDataDir+")")
	fs.StringVar(&o.TemporalAddr, "temporal-listen", get(EnvTemporalAdd, DefaultTemporalAddr), "Temporal frontend `host:port` (env "+EnvTemporalAdd+")")
	fs.StringVar(&o.UIAddr, "ui-listen", get(EnvUIAddr, DefaultUIAddr), "Temporal Web UI `host:port`; empty disables it (env "+EnvUIAddr+")")
	fs.StringVar(&o.APIAddr, "api-listen", get(EnvAPIAddr, DefaultAPIAddr), "REST API `host:port`; empty disables it (env "+EnvAPIAddr+")")
	fs.StringVar(&o.Namespace, "namespace", "default", "Temporal `namespace`, created if missing")
	fs.StringVar(&o.TaskQueue, "task-queue", o.TaskQueue, "task `queue` (env "+config.EnvTaskQueue+")")
	if err := fs.Parse(args); err != nil {
		return Options{}, err
	}
	if fs.NArg() > 0 {
		return Options{}, fmt.Errorf("dev: unexpected arguments %q", fs.Args())
	}
	if o.DataDir == "" {
		return Options{}, errors.New("dev: --data-dir must not be empty")
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return Options{}, fmt.Errorf("dev: --data-dir: %w", err)
	}
	o.DataDir = abs
	if o.ArtifactDir == "" {
		o.ArtifactDir = filepath.Join(abs, "artifacts")
	}
	return o, nil
}

// Run starts everything, prints the addresses to out, and runs until ctx is
// done; then it stops the parts in reverse order.
func Run(ctx context.Context, o Options, logger *slog.Logger, out io.Writer) error {
	srv, err := devserver.Start(devserver.Options{
		DataDir:          o.DataDir,
		FrontendAddr:     o.TemporalAddr,
		UIAddr:           o.UIAddr,
		Namespace:        o.Namespace,
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           logger,
	})
	if err != nil {
		return err
	}
	defer srv.Stop()

	// One registry for the SDK's metrics (worker and client) and the API's.
	m, err := metrics.New(metrics.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer func() { _ = m.Shutdown(context.Background()) }()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:       srv.FrontendAddr(),
		Namespace:      o.Namespace,
		Logger:         sdklog.NewStructuredLogger(logger),
		MetricsHandler: m.SDKHandler(),
	})
	if err != nil {
		return fmt.Errorf("connect to the embedded Temporal server: %w", err)
	}
	defer c.Close()
	// A database made by an older version may lack attributes added since.
	regCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	added, err := runs.EnsureSearchAttributes(regCtx, c, o.Namespace)
	cancel()
	if err != nil {
		return err
	}
	if len(added) > 0 {
		logger.Info("registered search attributes", "names", added)
	}

	w := worker.New(c, o.TaskQueue, worker.Options{})
	workflows.Register(w)
	activities.Register(w, activities.New(activities.Config{
		Logger:        logger,
		Agent:         o.Agent,
		ArtifactStore: artifacts.NewDir(o.ArtifactDir),
	}))
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer w.Stop()

	var apiURL string
	if o.APIAddr != "" {
		stop, url, err := serveAPI(c, o, m, logger)
		if err != nil {
			return err
		}
		defer stop()
		apiURL = url
	}

	fmt.Fprintf(out, "Maestro dev mode\n")
	fmt.Fprintf(out, "  Temporal:   %s (namespace %s)\n", srv.FrontendAddr(), o.Namespace)
	if srv.UIURL() != "" {
		fmt.Fprintf(out, "  Web UI:     %s\n", srv.UIURL())
	}
	if apiURL != "" {
		fmt.Fprintf(out, "  API:        %s (OpenAPI at %[1]s/openapi.yaml, metrics at %[1]s/metrics)\n", apiURL)
	}
	fmt.Fprintf(out, "  Task queue: %s\n", o.TaskQueue)
	fmt.Fprintf(out, "  Data:       %s\n", o.DataDir)
	fmt.Fprintf(out, "  Artifacts:  %s\n", o.ArtifactDir)
	if o.Agent.Configured() {
		fmt.Fprintf(out, "  Agents:     %s %s\n", o.Agent.Provider, o.Agent.Model)
	} else {
		fmt.Fprintf(out, "  Agents:     none configured (MAESTRO_AGENT_PROVIDER); template phases are simulated\n")
	}
	fmt.Fprintf(out, "ready; Ctrl-C stops\n")

	<-ctx.Done()
	logger.Info("stopping")
	return nil
}

// serveAPI serves the REST API on o.APIAddr until stop is called.
func serveAPI(c client.Client, o Options, m *metrics.Metrics, logger *slog.Logger) (stop func(), url string, err error) {
	srv, err := api.New(api.Config{
		Runs:       runs.New(c, runs.Config{Namespace: o.Namespace, TaskQueue: o.TaskQueue, DefaultMode: o.DefaultMode, Agent: o.Agent.Configured()}),
		Namespace:  o.Namespace,
		Artifacts:  artifacts.NewDir(o.ArtifactDir),
		Logger:     logger,
		Token:      o.APIToken,
		Registerer: m.Registerer(),
		Gatherer:   m.Gatherer(),
	})
	if err != nil {
		return nil, "", err
	}
	l, err := net.Listen("tcp", o.APIAddr)
	if err != nil {
		return nil, "", fmt.Errorf("API: listen on %s: %w", o.APIAddr, err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			logger.Warn("API shutdown", "error", err)
		}
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("API", "error", err)
		}
	}, "http://" + l.Addr().String(), nil
}
