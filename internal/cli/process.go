package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/workflows"
)

// cmdWorker runs a worker until interrupted.
func cmdWorker(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("worker")
	var o process.WorkerOptions
	fs.StringVar(&o.WorkDir, "workdir", "", "default working `dir`ectory of command nodes (default: the worker's)")
	fs.IntVar(&o.MaxOutputBytes, "max-output-bytes", activities.DefaultMaxOutputBytes, "cap on a node's output kept in history, in `bytes`")
	metricsAddr := fs.String("metrics-listen", "", "serve Prometheus metrics on `host:port` at /metrics (default $"+config.EnvMetricsAddr+" or "+config.DefaultMetricsAddr+"; set the variable empty to disable)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if o.MaxOutputBytes <= 0 {
		return usagef("worker", "worker: --max-output-bytes must be positive, got %d", o.MaxOutputBytes)
	}
	if o.WorkDir != "" {
		dir, err := checkDir(o.WorkDir)
		if err != nil {
			return err
		}
		o.WorkDir = dir
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if isSet(fs, "metrics-listen") {
		cfg.MetricsAddr = *metricsAddr
	}
	return process.RunWorker(ctx, cfg, o, process.NewLogger(a.stderr, cfg.Log, slog.LevelInfo))
}

// cmdAPI serves the REST API until interrupted.
func cmdAPI(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("api")
	listen := fs.String("listen", "", "`host:port` to serve on (default $"+config.EnvAPIAddr+" or "+config.DefaultAPIAddr+")")
	insecure := fs.Bool("insecure", false, "serve beyond loopback without "+config.EnvAPIToken+" (logged as a warning)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.API.Addr = *listen
	}
	cfg.API.Insecure = *insecure
	logger := process.NewLogger(a.stderr, cfg.Log, slog.LevelInfo)
	pol, err := process.WorkerPolicy(cfg)
	if err != nil {
		return err
	}
	process.LogPolicy(logger, cfg, pol)
	return process.RunAPI(ctx, cfg, logger, a.ready)
}

// cmdDev runs everything in one process until interrupted.
func cmdDev(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("dev")
	cfg, err := config.Load(a.env)
	if err != nil {
		return err
	}
	cfg.Client.Namespace = process.DevNamespace
	fs.StringVar(&cfg.Dev.DataDir, "data-dir", cfg.Dev.DataDir, "`dir`ectory of the Temporal database, the artifacts and the worker's process records (env "+config.EnvDataDir+")")
	fs.StringVar(&cfg.Dev.TemporalAddr, "temporal-listen", cfg.Dev.TemporalAddr, "Temporal frontend `host:port` (env "+config.EnvTemporalListen+")")
	fs.StringVar(&cfg.Dev.UIAddr, "ui-listen", cfg.Dev.UIAddr, "Temporal Web UI `host:port`; empty disables it (env "+config.EnvUIListen+")")
	fs.StringVar(&cfg.API.Addr, "api-listen", cfg.API.Addr, "REST API `host:port`; empty disables it (env "+config.EnvAPIAddr+")")
	fs.StringVar(&cfg.Client.Namespace, "namespace", cfg.Client.Namespace, "Temporal `namespace`, created if missing")
	fs.StringVar(&cfg.TaskQueue, "task-queue", cfg.TaskQueue, "task `queue` (env "+config.EnvTaskQueue+")")
	fs.BoolVar(&cfg.API.Insecure, "insecure", false, "serve the API beyond loopback without "+config.EnvAPIToken+", and the Temporal server and Web UI beyond loopback at all (logged as warnings)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if cfg.Dev.DataDir == "" {
		return usagef("dev", "dev: --data-dir must not be empty")
	}
	if isSet(fs, "data-dir") {
		if err := cfg.SetDataDir(cfg.Dev.DataDir); err != nil {
			return fmt.Errorf("dev: --data-dir: %w", err)
		}
	}
	return process.RunDev(ctx, cfg, process.NewLogger(a.stderr, cfg.Log, slog.LevelInfo), a.stdout)
}

// cmdVersion prints the build's version and the workflow code's.
func cmdVersion(_ context.Context, a *app, args []string) error {
	fs := a.newFlags("version")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	v := buildVersion()
	if *asJSON {
		return writeJSON(a.stdout, v)
	}
	fmt.Fprintf(a.stdout, "maestro       %s\n", v.Build)
	if v.Go != "" {
		fmt.Fprintf(a.stdout, "go            %s\n", v.Go)
	}
	fmt.Fprintf(a.stdout, "workflow code %s\n", v.WorkflowCode)
	return nil
}

// version is what `maestro version` prints.
type version struct {
	// Build is the module version and the VCS revision it was built from
	// (with "(modified)" for uncommitted changes), as the Go toolchain
	// recorded them.
	Build string `json:"build"`
	Go    string `json:"go,omitempty"`
	// WorkflowCode is the workflow code's version: its GetVersion patches
	// and their hash (workflows.WorkflowCodeVersion).
	WorkflowCode workflows.CodeVersion `json:"workflow_code"`
}

// buildVersion reads the build's version from debug.ReadBuildInfo.
func buildVersion() version {
	v := version{Build: "(devel)", WorkflowCode: workflows.WorkflowCodeVersion()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Go = bi.GoVersion
	if bi.Main.Version != "" {
		v.Build = bi.Main.Version
	}
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Build += " " + s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified {
		v.Build += " (modified)"
	}
	return v
}

// isSet reports whether the flag was given on the command line.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
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
