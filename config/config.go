// Package config reads Maestro's configuration from the environment: the
// Temporal connection through the SDK's envconfig (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS settings, TEMPORAL_PROFILE and
// the temporal.toml profile file, as the temporal CLI reads them) and
// Maestro's own MAESTRO_* settings.
package config

import (
	"fmt"
	"os"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/workflows"
)

// Environment variables Maestro reads besides Temporal's own.
const (
	EnvTaskQueue = "MAESTRO_TASK_QUEUE"
	EnvLogLevel  = "MAESTRO_LOG_LEVEL"
	// EnvMetricsAddr is the host:port a process serves Prometheus metrics
	// on at /metrics; set but empty disables the endpoint.
	EnvMetricsAddr = "MAESTRO_METRICS_ADDR"
)

// DefaultMetricsAddr is the worker's metrics address when EnvMetricsAddr is
// unset: loopback only, so that nothing is exposed unless asked for.
const DefaultMetricsAddr = "127.0.0.1:9090"

// MetricsAddr returns the metrics address env asks for: def when
// EnvMetricsAddr is unset, "" (disabled) when it is set but empty.
func MetricsAddr(env Env, def string) string {
	if v, ok := env.LookupEnv(EnvMetricsAddr); ok {
		return strings.TrimSpace(v)
	}
	return def
}

// Config is the effective configuration of a Maestro process.
type Config struct {
	// Client holds the Temporal connection options.
	Client client.Options
	// TaskQueue is the queue workers poll and runs are started on.
	TaskQueue string
	// DefaultMode applies to pipelines that name no mode.
	DefaultMode dag.Mode
	// Agent holds the default agent provider and model (MAESTRO_AGENT_*);
	// with a provider, the built-in templates run agent phases.
	Agent activities.AgentDefaults
	// ArtifactDir is where node outputs are stored (MAESTRO_ARTIFACT_DIR).
	ArtifactDir string
}

// Env looks variables up; os.LookupEnv and os.Environ by default.
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

// Load reads the configuration from env.
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
	getenv := func(k string) string { v, _ := env.LookupEnv(k); return v }
	mode, err := dag.ModeFromEnv(getenv)
	if err != nil {
		return Config{}, err
	}
	queue := strings.TrimSpace(getenv(EnvTaskQueue))
	if queue == "" {
		queue = workflows.DefaultTaskQueue
	}
	agent, err := activities.AgentDefaultsFromEnv(getenv)
	if err != nil {
		return Config{}, fmt.Errorf("agent settings: %w", err)
	}
	return Config{Client: opts, TaskQueue: queue, DefaultMode: mode, Agent: agent, ArtifactDir: artifacts.DirFromEnv(getenv)}, nil
}

// Effective is the configuration as shown to people; it never includes
// secrets.
type Effective struct {
	TemporalAddress string   `json:"temporal_address"`
	Namespace       string   `json:"namespace"`
	TaskQueue       string   `json:"task_queue"`
	DefaultMode     dag.Mode `json:"default_mode"`
	TLS             bool     `json:"tls"`
	APIKeySet       bool     `json:"api_key_set"`
	DAGExecution    string   `json:"maestro_enable_dag_execution"`
	Parallel        string   `json:"maestro_enable_parallel_execution"`
}

// Effective describes c for display; env supplies the raw mode flags.
func (c Config) Effective(env Env) Effective {
	get := func(k string) string {
		if v, ok := env.LookupEnv(k); ok {
			return v
		}
		return "(unset)"
	}
	return Effective{
		TemporalAddress: c.Client.HostPort,
		Namespace:       c.Client.Namespace,
		TaskQueue:       c.TaskQueue,
		DefaultMode:     c.DefaultMode,
		TLS:             c.Client.ConnectionOptions.TLS != nil,
		APIKeySet:       c.Client.Credentials != nil,
		DAGExecution:    get(dag.EnvEnableDAG),
		Parallel:        get(dag.EnvEnableParallel),
	}
}
