// Package dag is Maestro's pure pipeline model: the schema of a pipeline DAG,
// parsing from JSON or YAML, validation that reports every problem at once, and
// the execution order. It knows nothing of Temporal or HTTP.
package dag

import (
	"fmt"
	"time"
)

// Mode says how a pipeline's nodes are ordered when it runs.
type Mode string

// The execution modes.
const (
	// ModeLinear runs nodes one at a time in declared order.
	ModeLinear Mode = "linear"
	// ModeDAGLinear runs nodes one at a time in a topological order.
	ModeDAGLinear Mode = "dag_linear"
	// ModeDAGParallel starts every node as soon as all of its dependencies
	// completed, up to the pipeline's parallelism.
	ModeDAGParallel Mode = "dag_parallel"
)

// Modes lists the valid modes.
var Modes = []Mode{ModeLinear, ModeDAGLinear, ModeDAGParallel}

// FailurePolicy says what a run does when a node fails for good.
type FailurePolicy string

// The failure policies.
const (
	// FailFast cancels running nodes, skips the rest and fails the run.
	FailFast FailurePolicy = "fail_fast"
	// Continue lets independent branches go on; dependents of a failed node
	// are skipped and the run ends failed.
	Continue FailurePolicy = "continue"
)

// The well-known SDLC phases. A node may also name a custom phase.
var Phases = []string{"requirements", "design", "backend", "frontend", "testing", "review", "deployment"}

// Defaults and limits applied when a pipeline leaves a value unset.
const (
	DefaultRunTimeout      = 2 * time.Hour
	DefaultMaxParallel     = 50
	MaxParallelLimit       = 500 // far below Temporal's 2,000 pending activities per run
	DefaultMaxAttempts     = 3
	DefaultInitialInterval = time.Second
	DefaultBackoff         = 2.0
	DefaultMaxInterval     = time.Minute
	// DefaultHeartbeatTimeout is how long a node may go without a
	// heartbeat before Temporal retries it elsewhere: the time a worker
	// crash costs. Nodes heartbeat every second, so 10 s is ample.
	DefaultHeartbeatTimeout = 10 * time.Second
	MaxNodes                = 10000
	// MaxRunTimeout bounds a run's timeout (and so every node's).
	MaxRunTimeout = 30 * 24 * time.Hour
	// MaxRetryInterval bounds a node's retry intervals.
	MaxRetryInterval = 24 * time.Hour
	MaxIDLength      = 64
	// MaxRetryAttempts bounds a node's retry.max_attempts.
	MaxRetryAttempts = 1000
	// MinTimeout is the shortest timeout a run, a node or a heartbeat
	// may have.
	MinTimeout = 100 * time.Millisecond
	// MaxNameLength bounds a pipeline's name, which Temporal indexes as
	// a search attribute.
	MaxNameLength = 200
	// MaxParamsBytes bounds a pipeline's params as JSON: every node's
	// input carries them, and commands get them in one environment
	// variable (MAESTRO_PARAMS), which Linux caps at 128 KiB.
	MaxParamsBytes = 64 << 10
	// MaxBudgetUSD and MaxBudgetTokens bound a run's budget at its start.
	MaxBudgetUSD    = 1e6
	MaxBudgetTokens = 1_000_000_000_000
)

// Duration is a Go duration string such as "90s" or "1h30m". It is kept as
// text so that a pipeline round-trips unchanged and so that validation can
// report every unparsable value at once.
type Duration string

// Parse returns the duration, or zero when it is empty.
func (d Duration) Parse() (time.Duration, error) {
	if d == "" {
		return 0, nil
	}
	v, err := time.ParseDuration(string(d))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use e.g. \"30s\", \"5m\", \"1h\")", string(d))
	}
	return v, nil
}

// Or returns the duration, or def when it is empty, zero or invalid. Call it
// on validated pipelines.
func (d Duration) Or(def time.Duration) time.Duration {
	v, err := d.Parse()
	if err != nil || v <= 0 {
		return def
	}
	return v
}

// Pipeline is a DAG of phases run as one Temporal workflow.
type Pipeline struct {
	// Name identifies the pipeline (or the template it came from).
	Name string `json:"name"`
	// Description is free text shown to people.
	Description string `json:"description,omitempty"`
	// Mode orders execution; empty means the configured default.
	Mode Mode `json:"mode,omitempty"`
	// MaxParallel caps nodes running at once in dag_parallel mode; 0 means
	// DefaultMaxParallel.
	MaxParallel int `json:"max_parallel,omitempty"`
	// Timeout bounds the whole run; empty means DefaultRunTimeout.
	Timeout Duration `json:"timeout,omitempty"`
	// FailurePolicy is fail_fast (default) or continue.
	FailurePolicy FailurePolicy `json:"failure_policy,omitempty"`
	// Params are free-form values given to every node (e.g. "requirement").
	Params map[string]any `json:"params,omitempty"`
	// Nodes are the pipeline's phases.
	Nodes []Node `json:"nodes"`
	// Workspace, when set, is the git repository the run works in; see
	// Workspace.
	Workspace *Workspace `json:"workspace,omitempty"`
	// Budget, when set, caps what the run's agent nodes spend; see Budget.
	Budget *Budget `json:"budget,omitempty"`
}

// Budget caps a run's spend on models: tokens (input, output and cache
// tokens together) and US dollars. A zero field sets no limit of its kind.
// An agent node that would cross it waits until a person extends the
// budget (or rejects, which fails the node).
type Budget struct {
	Tokens int     `json:"tokens,omitempty"`
	USD    float64 `json:"usd,omitempty"`
}

// Set reports whether the budget limits anything.
func (b *Budget) Set() bool { return b != nil && (b.Tokens > 0 || b.USD > 0) }

// Node is one phase of a pipeline, run as one Temporal activity.
type Node struct {
	// ID is unique in the pipeline and becomes the activity ID.
	ID string `json:"id"`
	// Name is a display name; it defaults to ID.
	Name string `json:"name,omitempty"`
	// Phase is an SDLC phase (see Phases) or any custom word.
	Phase string `json:"phase,omitempty"`
	// DependsOn lists the nodes that must complete before this one starts.
	DependsOn []string `json:"depends_on,omitempty"`
	// Executor says what runs the node.
	Executor Executor `json:"executor"`
	// Retry is the node's retry policy; nil means the defaults.
	Retry *Retry `json:"retry,omitempty"`
	// Timeout bounds one attempt; empty means the run's timeout.
	Timeout Duration `json:"timeout,omitempty"`
	// HeartbeatTimeout is how long a silent attempt may live; empty means
	// DefaultHeartbeatTimeout. A node whose worker died is retried once it
	// passes.
	HeartbeatTimeout Duration `json:"heartbeat_timeout,omitempty"`
}

// Retry is a node's retry policy, mapped onto Temporal's.
type Retry struct {
	// MaxAttempts counts the first attempt; 0 means DefaultMaxAttempts.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// InitialInterval is the delay before the first retry.
	InitialInterval Duration `json:"initial_interval,omitempty"`
	// Backoff multiplies the delay after each retry (>= 1).
	Backoff float64 `json:"backoff,omitempty"`
	// MaxInterval caps the delay between retries.
	MaxInterval Duration `json:"max_interval,omitempty"`
	// NonRetryable lists error types that fail the node at once.
	NonRetryable []string `json:"non_retryable,omitempty"`
}

// DisplayName returns the node's name, or its ID.
func (n Node) DisplayName() string {
	if n.Name != "" {
		return n.Name
	}
	return n.ID
}

// RunTimeout returns the whole-run timeout with the default applied.
func (p Pipeline) RunTimeout() time.Duration { return p.Timeout.Or(DefaultRunTimeout) }

// Parallelism returns how many nodes may run at once in p's mode.
func (p Pipeline) Parallelism() int {
	if p.Mode == ModeLinear || p.Mode == ModeDAGLinear {
		return 1
	}
	if p.MaxParallel <= 0 {
		return DefaultMaxParallel
	}
	return min(p.MaxParallel, MaxParallelLimit)
}

// Policy returns the failure policy with the default applied.
func (p Pipeline) Policy() FailurePolicy {
	if p.FailurePolicy == "" {
		return FailFast
	}
	return p.FailurePolicy
}

// Index returns the position of each node ID in p.Nodes. A duplicated ID
// maps to its first node, so that dependencies on it (and cycles through it)
// are still checked.
func (p Pipeline) Index() map[string]int {
	idx := make(map[string]int, len(p.Nodes))
	for i, n := range p.Nodes {
		if _, dup := idx[n.ID]; !dup {
			idx[n.ID] = i
		}
	}
	return idx
}
