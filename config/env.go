package config

import "time"

// The environment variables Maestro reads besides Temporal's own. Every
// MAESTRO_* name is here and nowhere else.
const (
	// EnvTaskQueue is the task queue workers poll and runs start on.
	EnvTaskQueue = "MAESTRO_TASK_QUEUE"
	// EnvEnableDAG and EnvEnableParallel choose the default mode.
	EnvEnableDAG      = "MAESTRO_ENABLE_DAG_EXECUTION"
	EnvEnableParallel = "MAESTRO_ENABLE_PARALLEL_EXECUTION"
	// EnvLogLevel is debug, info, warn or error; EnvLogFormat is text or
	// json.
	EnvLogLevel  = "MAESTRO_LOG_LEVEL"
	EnvLogFormat = "MAESTRO_LOG_FORMAT"
	// EnvMetricsAddr is the host:port the worker serves Prometheus metrics
	// on at /metrics; set but empty disables the endpoint.
	EnvMetricsAddr = "MAESTRO_METRICS_ADDR"
	// EnvArtifactDir is the directory of the artifact store (default: the
	// data directory's artifacts/).
	EnvArtifactDir = "MAESTRO_ARTIFACT_DIR"
	// EnvWorkspaceDir is where a worker keeps its git mirrors and the
	// checkouts of running nodes (default: the data directory's
	// workspaces).
	EnvWorkspaceDir = "MAESTRO_WORKSPACE_DIR"
	// EnvWorkerProcDir is where a worker records the process groups of its
	// running commands, one file each, so that a worker restarted after a
	// crash kills what the crashed one's commands left running (default:
	// the data directory's worker/procs). Workers of one host may share it.
	EnvWorkerProcDir = "MAESTRO_WORKER_PROC_DIR"
	// EnvWorkerStopTimeout is how long a stopping worker (SIGTERM or
	// SIGINT) lets its running nodes finish before it cancels them, so
	// that they are retried on another worker (a Go duration).
	EnvWorkerStopTimeout = "MAESTRO_WORKER_STOP_TIMEOUT"
	// EnvTemplateMaxBytes caps what one template of a node (an http url,
	// header or body, an agent prompt) may render, in bytes.
	EnvTemplateMaxBytes = "MAESTRO_TEMPLATE_MAX_BYTES"
	// EnvTemplateTimeout caps the time one template may take to render (a
	// Go duration).
	EnvTemplateTimeout = "MAESTRO_TEMPLATE_TIMEOUT"

	// The worker's default agent provider.
	EnvAgentProvider  = "MAESTRO_AGENT_PROVIDER"    // anthropic, openai or command; empty: agent nodes must name one
	EnvAgentModel     = "MAESTRO_AGENT_MODEL"       // model name; required for anthropic and openai
	EnvAgentBaseURL   = "MAESTRO_AGENT_BASE_URL"    // API base URL; default per provider
	EnvAgentAPIKeyEnv = "MAESTRO_AGENT_API_KEY_ENV" // name of the variable holding the key; default per provider
	EnvAgentMaxTokens = "MAESTRO_AGENT_MAX_TOKENS"  // answer length cap
	EnvAgentCommand   = "MAESTRO_AGENT_COMMAND"     // argv of the command provider, split on white space (no shell)
	EnvAgentPreset    = "MAESTRO_AGENT_PRESET"      // a coding-agent CLI preset of the command provider: claude-code, codex or aider
	EnvPricesFile     = "MAESTRO_PRICES_FILE"       // YAML or JSON: model-name prefix → USD per million input, output, cache_read, cache_write tokens

	// The REST API.
	EnvAPIAddr        = "MAESTRO_API_ADDR"
	EnvAPIToken       = "MAESTRO_API_TOKEN"        // an admin token
	EnvAPITokens      = "MAESTRO_API_TOKENS"       // comma-separated <role>:<token> entries
	EnvAPITokensFile  = "MAESTRO_API_TOKENS_FILE"  // a file of <role>:<token> lines
	EnvAPICORSOrigins = "MAESTRO_API_CORS_ORIGINS" // comma-separated
	EnvAPIRateLimit   = "MAESTRO_API_RATE_LIMIT"   // requests per second per client IP; 0 disables
	// EnvTemporalUIURL is the Temporal Web UI's address (http://host:port),
	// for the run page's links to a run there; `maestro dev` defaults it
	// to the UI it starts.
	EnvTemporalUIURL = "MAESTRO_TEMPORAL_UI_URL"

	// The worker policy (see package policy): a file, and lists that
	// replace the file's (comma-separated; set but empty is an empty list).
	EnvPolicyFile       = "MAESTRO_POLICY_FILE"        // YAML or JSON
	EnvPolicyKinds      = "MAESTRO_POLICY_KINDS"       // executor kinds, e.g. noop,http,agent,approval,command
	EnvPolicyCommands   = "MAESTRO_POLICY_COMMANDS"    // programs, optionally with leading arguments: go,make,git status
	EnvPolicyEnv        = "MAESTRO_POLICY_ENV"         // worker variables pipelines may read: GITHUB_TOKEN,CI_*
	EnvPolicyHTTPAllow  = "MAESTRO_POLICY_HTTP_ALLOW"  // destinations beyond public addresses: hosts, host:port, IPs, CIDRs
	EnvPolicyAgentAllow = "MAESTRO_POLICY_AGENT_ALLOW" // the same for agent nodes' base_url
	EnvPolicyRepos      = "MAESTRO_POLICY_REPOS"       // repositories workspace runs may use: paths, URLs, prefixes ending in *

	// EnvDataDir is Maestro's data directory: the dev server's database
	// and the default artifact store.
	EnvDataDir        = "MAESTRO_DATA_DIR"
	EnvTemporalListen = "MAESTRO_TEMPORAL_LISTEN"
	EnvUIListen       = "MAESTRO_UI_LISTEN" // set but empty disables the Web UI
)

// Defaults of unset variables.
const (
	// DefaultTaskQueue is the task queue unless configured.
	DefaultTaskQueue = "maestro"
	// DefaultMetricsAddr is loopback only, so that nothing is exposed
	// unless asked for.
	DefaultMetricsAddr  = "127.0.0.1:9090"
	DefaultAPIAddr      = "127.0.0.1:8080"
	DefaultAPIRateLimit = 50
	// DefaultTemplateMaxBytes and DefaultTemplateTimeout bound the
	// rendering of one template.
	DefaultTemplateMaxBytes = 1 << 20
	DefaultTemplateTimeout  = 5 * time.Second
	// DefaultWorkerStopTimeout is the grace a stopping worker gives its
	// running nodes.
	DefaultWorkerStopTimeout = 30 * time.Second
	// FallbackDataDir is the data directory when neither XDG_DATA_HOME
	// nor HOME is set; otherwise it is $XDG_DATA_HOME/maestro or
	// ~/.local/share/maestro. Artifacts default to its artifacts/.
	FallbackDataDir = ".maestro"
	// The dev mode's defaults, as the temporal CLI's dev server uses them.
	DefaultTemporalListen = "127.0.0.1:7233"
	DefaultUIListen       = "127.0.0.1:8233"
)

// The execution modes DefaultMode takes (the words of package dag).
const (
	ModeLinear      = "linear"
	ModeDAGLinear   = "dag_linear"
	ModeDAGParallel = "dag_parallel"
)
