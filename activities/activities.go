// Package activities runs one pipeline node as a Temporal activity: it looks
// up the executor of the node's kind (noop, command, http, agent; see
// executors), heartbeats while the node runs,
// caps what it writes to history and marks errors retryable or not.
package activities

import (
	"context"
	"errors"
	"fmt"
	"github.com/maestrohq/maestro/pricing"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/render"
	"github.com/maestrohq/maestro/workspace"
)

// ExecuteNodeName is the registered name of the node activity.
const ExecuteNodeName = "ExecuteNode"

// Error types set on the application errors that executors return. A node's
// retry.non_retryable may name any of them; the ones marked non-retryable here
// never retry.
const (
	ErrTypeConfig       = "ConfigError"      // bad executor configuration at run time; non-retryable
	ErrTypeCommandStart = "CommandStart"     // the program could not be started; non-retryable
	ErrTypeCommandExit  = "CommandExit"      // the program exited non-zero; retryable
	ErrTypeHTTPClient   = "HTTPClientError"  // a 4xx answer; non-retryable
	ErrTypeHTTPServer   = "HTTPServerError"  // a 5xx answer; retryable
	ErrTypeHTTPNetwork  = "HTTPNetworkError" // no answer; retryable
	ErrTypeInjected     = "InjectedFailure"  // noop fail_attempts; retryable

	ErrTypeAgentAuth      = "AgentAuthError"     // the model API refused the key (401, 403); non-retryable
	ErrTypeAgentRequest   = "AgentRequestError"  // the model API refused the request (400, 404, 422, ...); non-retryable
	ErrTypeAgentRateLimit = "AgentRateLimited"   // 429; retryable, after Retry-After when given
	ErrTypeAgentServer    = "AgentServerError"   // 5xx, 529 overloaded; retryable, after Retry-After when given
	ErrTypeAgentNetwork   = "AgentNetworkError"  // no answer; retryable
	ErrTypeAgentResponse  = "AgentResponseError" // a 2xx answer that is not the API's shape; non-retryable
	ErrTypeArtifact       = "ArtifactStoreError" // the artifact store failed; retryable

	ErrTypePolicyDenied  = "PolicyDenied"  // the worker policy forbids the node or its destination; non-retryable
	ErrTypeTemplateLimit = "TemplateLimit" // a template rendered more than MaxTemplateBytes or for longer than TemplateTimeout; non-retryable
	ErrTypeTimeout       = "Timeout"       // the attempt reached the node's timeout (start-to-close); retryable, counts against max_attempts
)

// Defaults for Config.
const (
	DefaultMaxOutputBytes = 32 << 10
	DefaultMaxErrorBytes  = 4 << 10
	// DefaultMaxArtifactBytes caps a node's full output kept in the
	// artifact store.
	DefaultMaxArtifactBytes = 64 << 20
	// DefaultMaxTemplateBytes caps what one template renders.
	DefaultMaxTemplateBytes = render.DefaultMaxBytes
	// DefaultTemplateTimeout caps the time one template renders for.
	DefaultTemplateTimeout = render.DefaultTimeout
)

// Config configures the activities of one worker.
type Config struct {
	// MaxOutputBytes caps a node's output written to history.
	MaxOutputBytes int
	// MaxErrorBytes caps error text (e.g. a stderr tail).
	MaxErrorBytes int
	// HTTPClient sends http nodes' requests; nil means a client without a
	// global timeout (the node's timeout and cancellation bound it) that,
	// with a Policy, connects only where Policy.HTTP allows. A client
	// given here is used as is.
	HTTPClient *http.Client
	// AgentHTTPClient sends agent nodes' model API requests; nil means
	// HTTPClient without a Policy, and with one a client that connects
	// only where Policy.Agent (or the worker's own Agent.BaseURL) allows.
	AgentHTTPClient *http.Client
	// Policy is the worker policy every node is checked against before it
	// runs; nil allows everything (as tests do). The processes always set
	// one (see package policy).
	Policy *policy.Policy
	// WorkDir is where command nodes without a dir run; empty means the
	// worker's working directory.
	WorkDir string
	// Getenv reads the worker's environment (for pass_env and {{env}});
	// nil means os.Getenv.
	Getenv func(string) string
	// Logger logs node execution; nil means slog.Default().
	Logger *slog.Logger
	// Agent holds the worker's defaults for agent nodes (see
	// package config and AgentDefaults.Validate).
	Agent AgentDefaults
	// Prices turns agent nodes' token usage into US dollars (the worker
	// process sets pricing.Builtin with MAESTRO_PRICES_FILE over it); nil
	// prices nothing: costs stay as the agents report them.
	Prices pricing.Table
	// ArtifactStore, when set, receives every completed node's full output
	// (run.NodeResult.Artifact refers to it), and agent nodes read their
	// dependencies' full outputs from it (see resolveInputs).
	ArtifactStore artifacts.Store
	// MaxArtifactBytes caps the output captured for the artifact store; 0
	// means DefaultMaxArtifactBytes.
	MaxArtifactBytes int
	// MaxTemplateBytes caps what one template of a node (an http url,
	// header or body; an agent's system prompt or prompt) renders; 0
	// means DefaultMaxTemplateBytes. Over it the node fails with
	// ErrTypeTemplateLimit.
	MaxTemplateBytes int
	// TemplateTimeout caps the time one template renders for; 0 means
	// DefaultTemplateTimeout. Over it the node fails with
	// ErrTypeTemplateLimit.
	TemplateTimeout time.Duration
	// Workspaces gives the nodes of workspace runs their checkouts; nil
	// means this worker cannot run them (WorkspacesUnavailable says why).
	Workspaces *workspace.Manager
	// WorkspacesUnavailable is why Workspaces is nil (git missing, ...).
	WorkspacesUnavailable error
	// GitPath is the git program (for creating repositories); "" means
	// git from PATH.
	GitPath string
	// ProcessDir is the directory where the worker records the process
	// group of every running command (see package procrecord), so that
	// once restarted after a crash it can kill what the crashed worker's
	// commands left running (procrecord.Cleanup). Empty records nothing and
	// gives commands no MAESTRO_PROCESS_TOKEN.
	ProcessDir string
	// StopTimeout is how long a stopping worker lets a running node go on
	// (MAESTRO_WORKER_STOP_TIMEOUT): then the node's attempt is cancelled,
	// its processes killed, and it fails with ErrTypeWorkerStopped, which
	// Temporal retries at once on another worker and which does not count
	// against max_attempts. The worker's own WorkerStopTimeout must be
	// longer, so that it waits for that failure to be reported. 0 leaves
	// the cancellation to the SDK's WorkerStopTimeout.
	StopTimeout time.Duration
}

// Activities executes pipeline nodes. Create it with New.
type Activities struct {
	cfg Config
}

// New returns Activities with cfg's zero values replaced by defaults.
func New(cfg Config) *Activities {
	if cfg.MaxOutputBytes <= 0 {
		cfg.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if cfg.MaxErrorBytes <= 0 {
		cfg.MaxErrorBytes = DefaultMaxErrorBytes
	}
	if cfg.AgentHTTPClient == nil && cfg.Policy != nil {
		cfg.AgentHTTPClient = cfg.Policy.Agent.With(hostPort(cfg.Agent.BaseURL)...).Client("agent")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
		if cfg.Policy != nil {
			cfg.HTTPClient = cfg.Policy.HTTP.Client("http")
		}
	}
	if cfg.AgentHTTPClient == nil {
		cfg.AgentHTTPClient = cfg.HTTPClient
	}
	if cfg.Getenv == nil {
		cfg.Getenv = osGetenv
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxArtifactBytes <= 0 {
		cfg.MaxArtifactBytes = DefaultMaxArtifactBytes
	}
	if cfg.MaxTemplateBytes <= 0 {
		cfg.MaxTemplateBytes = DefaultMaxTemplateBytes
	}
	if cfg.TemplateTimeout <= 0 {
		cfg.TemplateTimeout = DefaultTemplateTimeout
	}
	return &Activities{cfg: cfg}
}

// Register registers the node and workspace activities on a worker.
func Register(r worker.ActivityRegistry, a *Activities) {
	r.RegisterActivityWithOptions(a.ExecuteNode, activity.RegisterOptions{Name: ExecuteNodeName})
	r.RegisterActivityWithOptions(a.PrepareWorkspace, activity.RegisterOptions{Name: PrepareWorkspaceName})
	r.RegisterActivityWithOptions(a.FinishWorkspace, activity.RegisterOptions{Name: FinishWorkspaceName})
}

// templateLimits returns the bounds of one template's rendering.
func (a *Activities) templateLimits() render.Limits {
	return render.Limits{MaxBytes: a.cfg.MaxTemplateBytes, Timeout: a.cfg.TemplateTimeout}
}

// templateError classifies an error of rendering field: a *render.LimitError
// becomes a non-retryable ErrTypeTemplateLimit, the context's end returns
// the context's error, anything else is a configuration error.
func templateError(ctx context.Context, field string, err error) error {
	var le *render.LimitError
	switch {
	case errors.As(err, &le):
		return &nodeError{typ: ErrTypeTemplateLimit, nonRetryable: true, msg: fmt.Sprintf("%s: %v", field, err)}
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return configError("%s: %v", field, err)
}

// HeartbeatEvery is the longest a running node goes between heartbeats, and
// so, on a worker that sends each heartbeat at once (its
// MaxHeartbeatThrottleInterval no longer than this; process.NewWorker sets
// it), about the longest a cancelled node takes to learn that it was
// cancelled: Temporal delivers a cancellation in a heartbeat's answer.
const HeartbeatEvery = time.Second

// heartbeatInterval is how often a running node heartbeats: every
// HeartbeatEvery, or more often when its heartbeat timeout is short.
func heartbeatInterval(ctx context.Context) time.Duration {
	hb := activity.GetInfo(ctx).HeartbeatTimeout
	if hb <= 0 {
		return HeartbeatEvery
	}
	return min(max(hb/4, 100*time.Millisecond), HeartbeatEvery)
}
