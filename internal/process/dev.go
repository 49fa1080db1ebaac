package process

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/devserver"
	"github.com/maestrohq/maestro/metrics"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workflows"
)

// CheckDevExposure is `maestro dev`'s rule for its embedded Temporal server
// and Web UI: they have no authentication, and a dev worker runs any
// executor a pipeline asks for, so beyond loopback anyone who reaches them
// could run commands on this machine. It returns an error naming the
// address and its flag, unless cfg.API.Insecure is set (--insecure), which
// is logged as a warning. Empty addresses (the Web UI disabled) pass.
func CheckDevExposure(cfg config.Config, logger *slog.Logger) error {
	for _, l := range []struct{ what, addr, flag string }{
		{"the embedded Temporal server", cfg.Dev.TemporalAddr, "--temporal-listen"},
		{"the Temporal Web UI", cfg.Dev.UIAddr, "--ui-listen"},
	} {
		if l.addr == "" || IsLoopback(l.addr) {
			continue
		}
		if cfg.API.Insecure {
			logger.Warn("dev serves "+l.what+" beyond loopback (--insecure): it has no authentication, and anyone who can reach it can start runs that execute commands on this machine",
				"addr", l.addr)
			continue
		}
		return fmt.Errorf("dev: refusing to serve %s on %s: it has no authentication, and anyone who can reach it could start runs that execute commands on this machine; listen on 127.0.0.1 (%s), or pass --insecure",
			l.what, l.addr, l.flag)
	}
	return nil
}

// DevNamespace is the namespace `maestro dev` creates unless told otherwise.
const DevNamespace = "default"

// RunDev is `maestro dev`: an embedded Temporal server persisting to SQLite
// in cfg.Dev.DataDir, the Temporal Web UI (unless cfg.Dev.UIAddr is empty), a
// worker and the REST API (unless cfg.API.Addr is empty), all in this
// process, configured exactly as the separate processes are. It prints the
// addresses to out and runs until ctx is done; then it stops the parts in
// reverse order. Before anything starts, it kills what the commands of a
// crashed predecessor left running (CleanupProcesses). The embedded server
// logs warnings and errors only, unless MAESTRO_LOG_LEVEL asks for more.
// Like RunAPI, it refuses to serve the API beyond loopback without a token
// (CheckAPIExposure) before starting anything.
func RunDev(ctx context.Context, cfg config.Config, logger *slog.Logger, out io.Writer) error {
	cfg.Policy.DevMode = true
	if err := CheckAPIExposure(cfg.API, logger); err != nil {
		return err
	}
	if err := CheckDevExposure(cfg, logger); err != nil {
		return err
	}
	acts, err := Activities(cfg, logger, WorkerOptions{})
	if err != nil {
		return err
	}
	defer closeWorkspaces(acts, logger)
	if err := CleanupProcesses(acts, logger); err != nil {
		return err
	}
	if old, err := filepath.Abs(config.FallbackDataDir); err == nil && old != cfg.Dev.DataDir {
		if _, err := os.Stat(filepath.Join(old, devserver.DatabaseFile)); err == nil {
			logger.Warn("a data directory of an earlier version is here; its runs are not in this one: use --data-dir to keep using it",
				"found", old, "using", cfg.Dev.DataDir)
		}
	}
	serverLog := logger
	if cfg.Log.Level == nil {
		serverLog = slog.New(levelFloor{Handler: logger.Handler(), min: slog.LevelWarn})
	}
	srv, err := devserver.Start(devserver.Options{
		DataDir:          cfg.Dev.DataDir,
		FrontendAddr:     cfg.Dev.TemporalAddr,
		UIAddr:           cfg.Dev.UIAddr,
		Namespace:        cfg.Client.Namespace,
		SearchAttributes: workflows.SearchAttributes(),
		Logger:           serverLog,
	})
	if err != nil {
		return err
	}
	defer srv.Stop()
	// The embedded server: no TLS or credentials a profile may name.
	cfg.Client = client.Options{HostPort: srv.FrontendAddr(), Namespace: cfg.Client.Namespace, DataConverter: cfg.Client.DataConverter}
	// Say where this dev listens, for the CLI on this data directory.
	addrFile := filepath.Join(cfg.Dev.DataDir, DevAddrFile)
	if err := os.WriteFile(addrFile, []byte(srv.FrontendAddr()+"\n"), 0o644); err != nil {
		logger.Warn("cannot record dev's address in the data directory", "error", err)
	}
	defer os.Remove(addrFile)

	// One registry for the SDK's metrics (worker and client) and the API's.
	m, err := metrics.New(metrics.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer func() { _ = m.Shutdown(context.Background()) }()
	c, err := Dial(ctx, cfg, logger, m.SDKHandler())
	if err != nil {
		return err
	}
	defer c.Close()
	// A database made by an older version may lack attributes added since.
	regCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	added, err := runs.EnsureSearchAttributes(regCtx, c, cfg.Client.Namespace)
	cancel()
	if err != nil {
		return err
	}
	if len(added) > 0 {
		logger.Info("registered search attributes", "names", added)
	}

	w := NewWorker(c, cfg.TaskQueue, SDKWorkerOptions(cfg), acts)
	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer func() {
		logger.Info("worker stopping: no new tasks; running nodes may finish", "stop_timeout", cfg.WorkerStopTimeout)
		w.Stop()
	}()

	var apiURL string
	if cfg.API.TemporalUI == "" {
		cfg.API.TemporalUI = srv.UIURL() // the run page links runs to it
	}
	if cfg.API.Addr != "" {
		a, err := NewAPI(c, cfg, logger, m)
		if err != nil {
			return err
		}
		addr, _, stop, err := ServeAPI(a, cfg.API.Addr)
		if err != nil {
			return err
		}
		defer func() {
			if err := stop(); err != nil {
				logger.Warn("API shutdown", "error", err)
			}
		}()
		apiURL = "http://" + addr
	}

	fmt.Fprintf(out, "Maestro dev mode\n")
	fmt.Fprintf(out, "  Temporal:   %s (namespace %s)\n", srv.FrontendAddr(), cfg.Client.Namespace)
	if srv.UIURL() != "" {
		fmt.Fprintf(out, "  Web UI:     %s\n", srv.UIURL())
	}
	if apiURL != "" {
		fmt.Fprintf(out, "  API:        %s (OpenAPI at %[1]s/openapi.yaml, metrics at %[1]s/metrics)\n", apiURL)
		fmt.Fprintf(out, "  Run page:   %s/\n", apiURL)
	}
	fmt.Fprintf(out, "  Task queue: %s\n", cfg.TaskQueue)
	fmt.Fprintf(out, "  Data:       %s\n", cfg.Dev.DataDir)
	fmt.Fprintf(out, "  Artifacts:  %s\n", cfg.ArtifactDir)
	fmt.Fprintf(out, "  Agents:     %s\n", describeAgent(acts.Agent.Provider, acts.Agent.Model, presetOr(acts.Agent.Preset, acts.Agent.Command)))
	fmt.Fprintf(out, "  Policy:     %s\n", acts.Policy.Describe())
	fmt.Fprintf(out, "ready; Ctrl-C stops\n")

	<-ctx.Done()
	logger.Info("stopping")
	return nil
}

// describeAgent says which agent provider the worker has, for the banner.
func describeAgent(provider, model string, command []string) string {
	switch {
	case provider == "":
		return "none configured (" + config.EnvAgentProvider + "); template phases are simulated"
	case len(command) > 0 && model == "":
		return provider + " (" + strings.Join(command, " ") + ")"
	case model == "":
		return provider
	}
	return provider + " " + model
}

// presetOr names a preset as the command it runs, for the banner.
func presetOr(preset string, command []string) []string {
	if preset != "" {
		return []string{"preset " + preset}
	}
	return command
}

// levelFloor drops records below min, whatever the wrapped handler allows.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFloor{Handler: h.Handler.WithAttrs(attrs), min: h.min}
}

func (h levelFloor) WithGroup(name string) slog.Handler {
	return levelFloor{Handler: h.Handler.WithGroup(name), min: h.min}
}
