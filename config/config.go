// Package config reads Maestro's configuration from the environment, in one
// place: the Temporal connection through the SDK's envconfig
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS settings,
// TEMPORAL_PROFILE and the temporal.toml profile file, as the temporal CLI
// reads them) and every MAESTRO_* variable. It imports no package of
// Maestro's: the process wiring turns its plain values into the settings of
// the worker, the API and the CLI.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
)

// Config is the effective configuration of a Maestro process.
type Config struct {
	// Client holds the Temporal connection options.
	Client client.Options
	// TaskQueue is the queue workers poll and runs are started on.
	TaskQueue string
	// DefaultMode is the execution mode of pipelines that name none:
	// "linear", "dag_linear" or "dag_parallel".
	DefaultMode string
	// Log is how processes log.
	Log Log
	// MetricsAddr is where the worker serves Prometheus /metrics; empty
	// disables the endpoint.
	MetricsAddr string
	// ArtifactDir is where node outputs are stored.
	ArtifactDir string
	// WorkspaceDir is where a worker keeps its git mirrors and the
	// checkouts of workspace runs' nodes.
	WorkspaceDir string
	// WorkerProcDir is where a worker records its running commands'
	// process groups, so that after a crash the restarted worker kills
	// what they left running (the data directory's worker/procs unless
	// MAESTRO_WORKER_PROC_DIR says otherwise).
	WorkerProcDir string
	// WorkerStopTimeout is how long a stopping worker lets its running
	// nodes finish before it cancels them for a retry elsewhere
	// (MAESTRO_WORKER_STOP_TIMEOUT).
	WorkerStopTimeout time.Duration
	// Template bounds the rendering of nodes' templates.
	Template Template
	// Agent holds the workers' default agent provider.
	Agent Agent
	// PricesFile is MAESTRO_PRICES_FILE: the worker's model prices, over
	// the built-in ones (see LoadPrices).
	PricesFile string
	// API configures the REST API.
	API API
	// Dev configures `maestro dev`.
	Dev Dev
	// Policy holds the sources of the worker policy (package policy reads
	// them).
	Policy Policy

	// artifactDirSet says MAESTRO_ARTIFACT_DIR chose ArtifactDir, so that a
	// new data directory does not move it.
	artifactDirSet bool
	// workspaceDirSet says MAESTRO_WORKSPACE_DIR chose WorkspaceDir.
	workspaceDirSet bool
	// workerProcDirSet says MAESTRO_WORKER_PROC_DIR chose WorkerProcDir.
	workerProcDirSet bool
}

// SetDataDir makes dir (made absolute) the data directory; the artifacts,
// the worker's workspaces and its process records move with it unless
// MAESTRO_ARTIFACT_DIR, MAESTRO_WORKSPACE_DIR and MAESTRO_WORKER_PROC_DIR
// placed them.
func (c *Config) SetDataDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("data directory %q: %w", dir, err)
	}
	c.Dev.DataDir = abs
	if !c.artifactDirSet {
		c.ArtifactDir = filepath.Join(abs, "artifacts")
	}
	if !c.workspaceDirSet {
		c.WorkspaceDir = filepath.Join(abs, "workspaces")
	}
	if !c.workerProcDirSet {
		c.WorkerProcDir = defaultWorkerProcDir(abs)
	}
	return nil
}

// Log says how a process logs.
type Log struct {
	// Level is the level MAESTRO_LOG_LEVEL asks for; nil means the
	// process's own default (info for servers, warn for the CLI).
	Level *slog.Level
	// JSON logs one JSON object per line instead of text.
	JSON bool
}

// LevelOr returns the configured level, or def when none is configured.
func (l Log) LevelOr(def slog.Level) slog.Level {
	if l.Level != nil {
		return *l.Level
	}
	return def
}

// Template bounds the rendering of one template of a node
// (MAESTRO_TEMPLATE_*).
type Template struct {
	// MaxBytes caps a rendering's output.
	MaxBytes int
	// Timeout caps a rendering's time.
	Timeout time.Duration
}

// Agent is the worker's default agent provider (MAESTRO_AGENT_*). It names
// the variable that holds the API key, never the key itself.
type Agent struct {
	Provider  string
	Model     string
	BaseURL   string
	APIKeyEnv string
	MaxTokens int
	Command   []string
	// Preset is a coding-agent CLI preset of the command provider
	// (MAESTRO_AGENT_PRESET), instead of Command.
	Preset string
}

// API configures the REST API.
type API struct {
	// Addr is the listen address.
	Addr string
	// Token, when set, is an admin bearer token (MAESTRO_API_TOKEN). With
	// any token configured, every endpoint but /health requires one. It is
	// a secret: never print it.
	Token string
	// Tokens is MAESTRO_API_TOKENS as set: comma-separated <role>:<token>
	// entries, parsed (with the file) by package api through
	// process.APITokens. It holds secrets: never print it.
	Tokens string
	// TokensFile is MAESTRO_API_TOKENS_FILE: a file of <role>:<token>
	// lines, read when the API starts (and by `maestro config`).
	TokensFile string
	// CORSOrigins lists the origins CORS allows.
	CORSOrigins []string
	// RateLimit is the requests per second allowed per client IP; a
	// negative value disables rate limiting.
	RateLimit float64
	// TemporalUI is the Temporal Web UI's base URL (MAESTRO_TEMPORAL_UI_URL,
	// http or https), which the run page links runs to; empty: no links
	// (`maestro dev` then uses the UI it starts).
	TemporalUI string
	// Insecure lets the API listen beyond loopback without a token. No
	// variable sets it: only the --insecure flag of `maestro api` and
	// `maestro dev`.
	Insecure bool
}

// Policy holds where the worker policy comes from: a file and variables
// overriding its lists. A nil list is an unset variable; a set but empty
// variable is an empty list.
type Policy struct {
	// File is the policy file (YAML or JSON); empty: none.
	File string
	// Kinds, Commands, Env, HTTPAllow, AgentAllow and Repos are the
	// comma-separated lists of MAESTRO_POLICY_KINDS, _COMMANDS, _ENV,
	// _HTTP_ALLOW, _AGENT_ALLOW and _REPOS.
	Kinds, Commands, Env, HTTPAllow, AgentAllow, Repos []string
	// DevMode is set by `maestro dev` (never by a variable): without a
	// policy, everything is allowed.
	DevMode bool
}

// Configured reports whether a policy file or variable is set.
func (p Policy) Configured() bool {
	return p.File != "" || p.Kinds != nil || p.Commands != nil || p.Env != nil || p.HTTPAllow != nil || p.AgentAllow != nil || p.Repos != nil
}

// Dev configures `maestro dev`.
type Dev struct {
	// DataDir holds the embedded server's database (and, unless
	// MAESTRO_ARTIFACT_DIR says otherwise, the artifacts).
	DataDir string
	// TemporalAddr is the embedded Temporal frontend's listen address.
	TemporalAddr string
	// UIAddr is the Temporal Web UI's listen address; empty disables it.
	UIAddr string
}

// Env looks variables up; OSEnv is the process environment.
type Env interface {
	LookupEnv(string) (string, bool)
	Environ() []string
}

type osEnv struct{}

func (osEnv) LookupEnv(k string) (string, bool) { return os.LookupEnv(k) }
func (osEnv) Environ() []string                 { return os.Environ() }

// OSEnv is the process environment.
var OSEnv Env = osEnv{}

// MapEnv is an Env backed by a map, for tests.
type MapEnv map[string]string

// LookupEnv returns the value of k.
func (m MapEnv) LookupEnv(k string) (string, bool) { v, ok := m[k]; return v, ok }

// Environ returns the variables as KEY=value.
func (m MapEnv) Environ() []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// Load reads the configuration from env. It reports every malformed
// variable at once, each by name.
func Load(env Env) (Config, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: env})
	if err != nil {
		return Config{}, fmt.Errorf("temporal client config: %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	r := reader{env: env}
	c := Config{
		Client:            opts,
		TaskQueue:         r.str(EnvTaskQueue, DefaultTaskQueue),
		DefaultMode:       r.mode(),
		Log:               r.log(),
		WorkerStopTimeout: r.positiveDuration(EnvWorkerStopTimeout, DefaultWorkerStopTimeout),
		Template: Template{
			MaxBytes: r.positiveIntOr(EnvTemplateMaxBytes, DefaultTemplateMaxBytes),
			Timeout:  r.positiveDuration(EnvTemplateTimeout, DefaultTemplateTimeout),
		},
		Agent: Agent{
			Provider:  strings.ToLower(r.str(EnvAgentProvider, "")),
			Model:     r.str(EnvAgentModel, ""),
			BaseURL:   r.str(EnvAgentBaseURL, ""),
			APIKeyEnv: r.str(EnvAgentAPIKeyEnv, ""),
			MaxTokens: r.positiveInt(EnvAgentMaxTokens),
			Command:   strings.Fields(r.raw(EnvAgentCommand)),
			Preset:    r.str(EnvAgentPreset, ""),
		},
		PricesFile: r.str(EnvPricesFile, ""),
		API: API{
			Addr:        r.str(EnvAPIAddr, DefaultAPIAddr),
			Token:       r.str(EnvAPIToken, ""),
			Tokens:      r.str(EnvAPITokens, ""),
			TokensFile:  r.str(EnvAPITokensFile, ""),
			CORSOrigins: r.list(EnvAPICORSOrigins),
			RateLimit:   r.rateLimit(),
			TemporalUI:  r.httpURL(EnvTemporalUIURL),
		},
		Policy: Policy{
			File:       r.str(EnvPolicyFile, ""),
			Kinds:      r.setList(EnvPolicyKinds),
			Commands:   r.setList(EnvPolicyCommands),
			Env:        r.setList(EnvPolicyEnv),
			HTTPAllow:  r.setList(EnvPolicyHTTPAllow),
			AgentAllow: r.setList(EnvPolicyAgentAllow),
			Repos:      r.setList(EnvPolicyRepos),
		},
		Dev: Dev{
			DataDir:      r.str(EnvDataDir, defaultDataDir(env)),
			TemporalAddr: r.str(EnvTemporalListen, DefaultTemporalListen),
			UIAddr:       r.str(EnvUIListen, DefaultUIListen),
		},
	}
	// Set but empty disables the metrics endpoint.
	c.MetricsAddr = DefaultMetricsAddr
	if v, ok := env.LookupEnv(EnvMetricsAddr); ok {
		c.MetricsAddr = strings.TrimSpace(v)
	}
	if v, ok := env.LookupEnv(EnvUIListen); ok {
		c.Dev.UIAddr = strings.TrimSpace(v)
	}
	if abs, err := filepath.Abs(c.Dev.DataDir); err == nil {
		c.Dev.DataDir = abs
	}
	c.ArtifactDir = r.str(EnvArtifactDir, filepath.Join(c.Dev.DataDir, "artifacts"))
	c.artifactDirSet = r.str(EnvArtifactDir, "") != ""
	if abs, err := filepath.Abs(c.ArtifactDir); err == nil {
		c.ArtifactDir = abs
	}
	c.WorkspaceDir = r.str(EnvWorkspaceDir, filepath.Join(c.Dev.DataDir, "workspaces"))
	c.workspaceDirSet = r.str(EnvWorkspaceDir, "") != ""
	if abs, err := filepath.Abs(c.WorkspaceDir); err == nil {
		c.WorkspaceDir = abs
	}
	c.WorkerProcDir = r.str(EnvWorkerProcDir, defaultWorkerProcDir(c.Dev.DataDir))
	c.workerProcDirSet = r.str(EnvWorkerProcDir, "") != ""
	if abs, err := filepath.Abs(c.WorkerProcDir); err == nil {
		c.WorkerProcDir = abs
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

// defaultWorkerProcDir is where a worker records its commands' process
// groups in the data directory dataDir.
func defaultWorkerProcDir(dataDir string) string {
	return filepath.Join(dataDir, "worker", "procs")
}

// defaultDataDir is Maestro's directory in the user's data home
// ($XDG_DATA_HOME/maestro, else ~/.local/share/maestro), so that every
// command finds the same data whatever directory it runs in.
func defaultDataDir(env Env) string {
	if v, _ := env.LookupEnv("XDG_DATA_HOME"); filepath.IsAbs(v) {
		return filepath.Join(v, "maestro")
	}
	if v, _ := env.LookupEnv("HOME"); filepath.IsAbs(v) {
		return filepath.Join(v, ".local", "share", "maestro")
	}
	return FallbackDataDir
}

// DefaultMode reads only the variables that choose the default mode, for
// commands that need no Temporal configuration (validating a file).
func DefaultMode(env Env) (string, error) {
	r := reader{env: env}
	mode := r.mode()
	return mode, errors.Join(r.errs...)
}

// reader reads variables and collects what is wrong with them.
type reader struct {
	env  Env
	errs []error
}

func (r *reader) raw(name string) string {
	v, _ := r.env.LookupEnv(name)
	return v
}

// str returns the trimmed value of name, or def when it is unset or blank.
func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.raw(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) list(name string) []string {
	var out []string
	for v := range strings.SplitSeq(r.raw(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// setList is list, but a set variable is never nil (set but empty is an
// empty list) and an unset one always is.
func (r *reader) setList(name string) []string {
	if _, ok := r.env.LookupEnv(name); !ok {
		return nil
	}
	if l := r.list(name); l != nil {
		return l
	}
	return []string{}
}

func (r *reader) positiveInt(name string) int {
	v := strings.TrimSpace(r.raw(name))
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want a positive number", name, v))
		return 0
	}
	return n
}

// positiveIntOr is positiveInt with def when name is unset or blank.
func (r *reader) positiveIntOr(name string, def int) int {
	if n := r.positiveInt(name); n > 0 {
		return n
	}
	return def
}

// positiveDuration reads name as a Go duration above zero; def when unset
// or blank.
func (r *reader) positiveDuration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(r.raw(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want a positive duration such as 5s", name, v))
		return def
	}
	return d
}

// boolean reads name as strconv.ParseBool does; unset is false.
func (r *reader) boolean(name string) bool {
	v := r.raw(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s=%q: want true or false", name, v))
	}
	return b
}

// mode returns the default mode, as in the system Maestro replaces: DAG off
// → linear; DAG on, parallel off → dag_linear; both on → dag_parallel.
func (r *reader) mode() string {
	n := len(r.errs)
	dagOn := r.boolean(EnvEnableDAG)
	parOn := r.boolean(EnvEnableParallel)
	switch {
	case len(r.errs) > n:
		return ""
	case !dagOn:
		return ModeLinear
	case !parOn:
		return ModeDAGLinear
	default:
		return ModeDAGParallel
	}
}

func (r *reader) log() Log {
	var l Log
	if v := strings.TrimSpace(r.raw(EnvLogLevel)); v != "" {
		level, err := ParseLevel(v)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("%s: %w", EnvLogLevel, err))
		} else {
			l.Level = &level
		}
	}
	l.JSON = strings.EqualFold(strings.TrimSpace(r.raw(EnvLogFormat)), "json")
	return l
}

// httpURL reads an absolute http or https URL, without a trailing slash.
func (r *reader) httpURL(key string) string {
	v := strings.TrimSpace(r.raw(key))
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not an http or https URL (e.g. http://localhost:8233)", key, v))
		return ""
	}
	return strings.TrimRight(v, "/")
}

func (r *reader) rateLimit() float64 {
	v := strings.TrimSpace(r.raw(EnvAPIRateLimit))
	if v == "" {
		return DefaultAPIRateLimit
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("%s: %q is not a number", EnvAPIRateLimit, v))
		return DefaultAPIRateLimit
	}
	if f <= 0 {
		return -1
	}
	return f
}

// ParseLevel reads debug, info, warn (or warning) or error, in any case.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
}
