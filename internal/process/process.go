// Package process wires Maestro's processes together from configuration, in
// one place: the worker, the REST API and `maestro dev` (all three in one
// process), and the pieces they share — logging, the Temporal client, the
// runs service and metrics. The CLI, the tiny mains and the test
// environment all build their processes here.
package process

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workspace"
)

// DialTimeout bounds connecting to Temporal.
const DialTimeout = 15 * time.Second

// NewLogger returns a logger writing to w as l asks (text or JSON); def is
// the level when none is configured.
func NewLogger(w io.Writer, l config.Log, def slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.LevelOr(def)}
	if l.JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ClientOptions returns cfg's Temporal client options with logger and, when
// not nil, the metrics handler set.
func ClientOptions(cfg config.Config, logger *slog.Logger, metrics client.MetricsHandler) client.Options {
	opts := cfg.Client
	opts.Logger = sdklog.NewStructuredLogger(logger)
	if metrics != nil {
		opts.MetricsHandler = metrics
	}
	return opts
}

// Dial connects to Temporal as cfg says, within DialTimeout.
func Dial(ctx context.Context, cfg config.Config, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	c, err := client.DialContext(ctx, ClientOptions(cfg, logger, metrics))
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", cfg.Client.HostPort, cfg.Client.Namespace, err)
	}
	return c, nil
}

// Runs returns the runs service the CLI starts and inspects runs with. It
// checks runs against the policy the CLI's environment configures; with
// none, it leaves the check to the workers (whoever runs the CLI can reach
// Temporal anyway).
func Runs(c client.Client, cfg config.Config) *runs.Service {
	rc := runsConfig(cfg)
	if !cfg.Policy.Configured() && !cfg.Policy.DevMode {
		rc.Policy = nil
	}
	return runs.New(c, rc)
}

// DoctorRuns is Runs with the host checks of `maestro doctor` (runs.Host):
// the worker policy cfg configures (or why it does not load), the
// workspace and artifact directories, and the clock.
func DoctorRuns(c client.Client, cfg config.Config) *runs.Service {
	rc := runsConfig(cfg)
	host := &runs.Host{WorkspaceDir: cfg.WorkspaceDir, ArtifactDir: cfg.ArtifactDir}
	host.Policy, host.PolicyErr = WorkerPolicy(cfg)
	if host.PolicyErr == nil && !cfg.Policy.Configured() && !cfg.Policy.DevMode {
		host.PolicyHint = "the default (no policy configured): to allow more, set " + config.EnvPolicyFile + " or the other MAESTRO_POLICY_* variables (README, Security)"
	}
	rc.Host = host
	return runs.New(c, rc)
}

// runsConfig is the runs service's configuration for cfg, checking runs
// against WorkerPolicy(cfg) (the API's; an invalid policy, which
// the commands refuse before getting here, allows nothing).
func runsConfig(cfg config.Config) runs.Config {
	pol, err := WorkerPolicy(cfg)
	if err != nil {
		pol = &policy.Policy{Origin: "invalid: " + err.Error()}
	}
	return runs.Config{
		Namespace:     cfg.Client.Namespace,
		Address:       cfg.Client.HostPort,
		TaskQueue:     cfg.TaskQueue,
		DefaultMode:   dag.Mode(cfg.DefaultMode),
		DataConverter: cfg.Client.DataConverter,
		Policy:        pol,
		TemplateRepos: templateRepos(cfg),
		Workspaces: sync.OnceValues(func() (*workspace.Manager, error) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			return workspace.New(ctx, workspace.Options{Dir: cfg.WorkspaceDir})
		}),
	}
}

// templateRepos is where `maestro dev` makes the repositories of template
// runs that name none; other processes make none.
func templateRepos(cfg config.Config) string {
	if cfg.Policy.DevMode || talksToDev(cfg) {
		return filepath.Join(cfg.Dev.DataDir, "repos")
	}
	return ""
}

// DevAddrFile, in the data directory, holds the Temporal address of the
// `maestro dev` running on it, while it runs.
const DevAddrFile = "dev-temporal-address"

// talksToDev reports whether a client process (the CLI) talks to the
// `maestro dev` running on this machine's data directory: the address dev
// wrote there (DevAddrFile) is the client's, both on loopback. Then
// template runs it starts get a repository too, as those started through
// dev's API do.
func talksToDev(cfg config.Config) bool {
	data, err := os.ReadFile(filepath.Join(cfg.Dev.DataDir, DevAddrFile))
	if err != nil {
		return false
	}
	dev := strings.TrimSpace(string(data))
	_, port, err := net.SplitHostPort(cfg.Client.HostPort)
	_, devPort, devErr := net.SplitHostPort(dev)
	return err == nil && devErr == nil && port == devPort && IsLoopback(cfg.Client.HostPort) && IsLoopback(dev)
}

// WorkerPolicy is the worker policy cfg configures (see package policy):
// its file and variables; without either, policy.Default, or in dev mode
// policy.AllowAll. The API checks runs against the same policy, so API and
// workers should share one policy file.
func WorkerPolicy(cfg config.Config) (*policy.Policy, error) {
	def := policy.Default()
	if cfg.Policy.DevMode {
		def = policy.AllowAll()
	}
	p := cfg.Policy
	return policy.Load(policy.Source{File: p.File, Kinds: p.Kinds, Commands: p.Commands, Env: p.Env,
		HTTPAllow: p.HTTPAllow, AgentAllow: p.AgentAllow, Repos: p.Repos}, def)
}

// PolicyHint tells operators how to allow more than the default policy.
const PolicyHint = "no worker policy configured: only noop, http (to public addresses), agent and approval nodes run, " +
	"no commands, no worker variables; to allow more, set " + config.EnvPolicyFile + " (shared by workers and the API) or " +
	config.EnvPolicyKinds + ", " + config.EnvPolicyCommands + ", " + config.EnvPolicyEnv + ", " +
	config.EnvPolicyHTTPAllow + ", " + config.EnvPolicyAgentAllow + ", " + config.EnvPolicyRepos + " (see README, Security)"

// LogPolicy logs the policy a process enforces, and how to allow more when
// it is the default.
func LogPolicy(logger *slog.Logger, cfg config.Config, p *policy.Policy) {
	logger.Info("worker policy", "policy", p.Describe())
	if !cfg.Policy.Configured() && !cfg.Policy.DevMode {
		logger.Info(PolicyHint)
	}
}
