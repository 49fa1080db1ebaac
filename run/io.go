package run

import (
	"encoding/json"

	"github.com/maestrohq/maestro/dag"
)

// Input starts a run.
type Input struct {
	// Pipeline is the DAG to run; its Mode must be set (clients resolve the
	// configured default before starting).
	Pipeline dag.Pipeline `json:"pipeline"`
	// Template names the built-in template the pipeline came from, if any.
	Template string `json:"template,omitempty"`
	// Reuse holds results of nodes that completed in an earlier run; they
	// are marked completed and not executed again.
	Reuse map[string]NodeResult `json:"reuse,omitempty"`
	// RetryOf is the workflow ID of the run this one retries.
	RetryOf string `json:"retry_of,omitempty"`
	// Continued is set, alone, in a run that continued as new: the
	// earlier part's input and state (Carried, encoded).
	Continued []byte `json:"continued,omitempty"`
}

// NodeInput is what the workflow hands the activity for one node.
type NodeInput struct {
	// WorkflowID is the run's workflow ID. The workflow leaves it out (the
	// activity reads it from its info); set, it wins.
	WorkflowID string            `json:"workflow_id,omitempty"`
	Pipeline   string            `json:"pipeline,omitempty"`
	Node       dag.Node          `json:"node"`
	Params     map[string]any    `json:"params,omitempty"`
	Inputs     map[string]string `json:"inputs,omitempty"` // dependency outputs by node ID
	// Artifacts optionally names dependencies' artifacts (NodeResult.Artifact)
	// by node ID, for dependencies whose artifact is not filed under this
	// run (nodes reused from the run a retry retries). Without an entry, a
	// dependency's artifact is looked up by (WorkflowID, its node ID).
	Artifacts map[string]string `json:"artifacts,omitempty"`
	// Workspace is set in a workspace run: the repository and the commits
	// the node starts from.
	Workspace *NodeWorkspace `json:"workspace,omitempty"`
	// Repair is set for the agent of a repair round (Node is then the
	// round's agent node, see dag.RepairNodeID): the failure it repairs.
	Repair *RepairContext `json:"repair,omitempty"`
	// Budget is what is left of the run's budget when the node starts, set
	// for the agent nodes of a run that has one: an agent stops before a
	// model call that would cross it (ErrTypeBudgetExceeded).
	Budget *Remaining `json:"budget,omitempty"`
}

// Remaining is what is left of a run's budget. A zero field means no limit
// of that kind.
type Remaining struct {
	Tokens int     `json:"tokens,omitempty"`
	USD    float64 `json:"usd,omitempty"`
}

// ErrTypeBudgetExceeded is the error type of an agent attempt that stopped
// because its next model call would have crossed the run's budget (its
// failure's details carry the usage so far), and of a node whose budget
// extension was rejected.
const ErrTypeBudgetExceeded = "BudgetExceeded"

// NodeResult is what a node's successful attempt returns to the workflow.
//
// Its JSON leaves out what it can tell without them, to keep history small:
// output_bytes when the output is whole (it is then the output's length)
// and attempt when it is the first; decoding fills them in again. So a
// result with a zero OutputBytes and an output that is not Truncated reads
// back as whole, and a zero Attempt as 1.
type NodeResult struct {
	// Output is the node's output, capped by the worker (activities.Config.MaxOutputBytes).
	Output string `json:"output"`
	// Truncated says Output was cut; OutputBytes is the full size.
	Truncated   bool  `json:"truncated,omitempty"`
	OutputBytes int   `json:"output_bytes,omitempty"`
	Attempt     int32 `json:"attempt,omitempty"`
	ExitCode    *int  `json:"exit_code,omitempty"`
	HTTPStatus  int   `json:"http_status,omitempty"`
	// Artifact refers to the full output in the artifact store, when the
	// worker has one.
	Artifact string `json:"artifact,omitempty"`
	// Usage is an agent node's model and token usage.
	Usage *Usage `json:"usage,omitempty"`
	// Simulated says Output is a placeholder: the node is an agent node
	// with a simulated output, run by a worker with no agent provider.
	Simulated bool `json:"simulated,omitempty"`
	// Commit is what a command or agent node of a workspace run committed.
	Commit *Commit `json:"commit,omitempty"`

	// Full is the whole output (up to the worker's artifact cap) for the
	// artifact store; it is never encoded, so it never reaches history.
	Full []byte `json:"-"`
}

// nodeResultJSON is NodeResult without its JSON methods.
type nodeResultJSON NodeResult

// MarshalJSON encodes r, leaving out output_bytes when the output is whole
// and attempt when it is 1.
func (r NodeResult) MarshalJSON() ([]byte, error) {
	w := nodeResultJSON(r)
	if !r.Truncated && r.OutputBytes == len(r.Output) {
		w.OutputBytes = 0
	}
	if r.Attempt == 1 {
		w.Attempt = 0
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes r, an output without output_bytes being whole and
// a result without attempt being the first attempt's.
func (r *NodeResult) UnmarshalJSON(b []byte) error {
	var w nodeResultJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = NodeResult(w)
	if r.OutputBytes == 0 && !r.Truncated {
		r.OutputBytes = len(r.Output)
	}
	if r.Attempt == 0 {
		r.Attempt = 1
	}
	return nil
}

// Usage is the model an agent node used and the tokens it consumed.
type Usage struct {
	Model        string `json:"model,omitempty"`
	InputTokens  int    `json:"input_tokens"`
	OutputTokens int    `json:"output_tokens"`
	// CacheReadTokens and CacheWriteTokens are input tokens read from and
	// written to the provider's prompt cache, where it reports them.
	CacheReadTokens  int `json:"cache_read_tokens,omitempty"`
	CacheWriteTokens int `json:"cache_write_tokens,omitempty"`
	// CostUSD is the cost in US dollars: the agent's own figure (a
	// coding-agent CLI's), or computed by the worker from its price table
	// (package pricing).
	CostUSD float64 `json:"cost_usd,omitempty"`
	// CostUnknown says the worker has no price for Model, so CostUSD
	// does not count these tokens.
	CostUnknown bool `json:"cost_unknown,omitempty"`
}

// Tokens is every token counted against a budget: input, output and
// cache reads and writes.
func (u *Usage) Tokens() int {
	if u == nil {
		return 0
	}
	return u.InputTokens + u.OutputTokens + u.CacheReadTokens + u.CacheWriteTokens
}

// Failure is attached as the details of every application error an executor
// returns, so the workflow can show the attempt and the cause.
type Failure struct {
	Attempt    int32  `json:"attempt"`
	ExitCode   *int   `json:"exit_code,omitempty"`
	HTTPStatus int    `json:"http_status,omitempty"`
	StderrTail string `json:"stderr_tail,omitempty"`
	// StdoutTail is the tail of a failed command's stdout, kept only for a
	// command with a repair (for its agent).
	StdoutTail string `json:"stdout_tail,omitempty"`
	// Usage is the tokens an attempt used before it failed, where it
	// knows them (an agent stopped by the budget).
	Usage *Usage `json:"usage,omitempty"`
}

// Approval is a person's decision on an approval node.
type Approval struct {
	// Node is the approval node's ID.
	Node string `json:"node"`
	// Approved lets the run go on; false rejects the node, which then
	// fails and the failure policy applies.
	Approved bool `json:"approved"`
	// Comment is free text shown with the decision.
	Comment string `json:"comment,omitempty"`
	// By names who decided.
	By string `json:"by,omitempty"`
	// Timeout is set when no one decided before the node's timeout.
	Timeout bool `json:"timeout,omitempty"`
}
