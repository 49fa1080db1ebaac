package run

import (
	"errors"
	"fmt"
	"time"

	"github.com/maestrohq/maestro/dag"
)

// OutputSummaryBytes caps the output shown per node in Status; the full
// (capped) output stays in the activity's result in history.
const OutputSummaryBytes = 512

// NodeStatus is one node's live or final state. The fields clients rely on
// are always present in JSON (null or empty when they do not apply).
type NodeStatus struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Phase     string    `json:"phase"`
	Executor  string    `json:"executor"`
	DependsOn []string  `json:"depends_on"`
	Status    NodeState `json:"status"`
	// Attempts counts attempts made (for a running node, as far as the
	// workflow knows; clients merge the live attempt from the server).
	Attempts  int32      `json:"attempts"`
	StartedAt *time.Time `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	Error     string     `json:"error"`
	ErrorType string     `json:"error_type,omitempty"`
	// LastError is the failure of the previous attempt of a node that is
	// being retried (merged from the server's pending activities).
	LastError string `json:"last_error,omitempty"`
	// Output is a summary of the node's output (at most OutputSummaryBytes).
	Output          string `json:"output"`
	OutputBytes     int    `json:"output_bytes"`
	OutputTruncated bool   `json:"output_truncated"`
	// Reused says the node completed in an earlier run that this run retries.
	Reused bool `json:"reused"`
	// Usage is an agent node's model and token usage.
	Usage *Usage `json:"usage,omitempty"`
	// Approval is the decision on an approval node.
	Approval *Approval `json:"approval,omitempty"`
	// Commit is the node's commit in a workspace run.
	Commit *Commit `json:"commit,omitempty"`
	// Progress is what a running node last said it was doing (agents
	// report their turns and tool calls), read from its attempt's
	// heartbeat.
	Progress *Progress `json:"progress,omitempty"`
	// Repairs are the repair rounds of a command node with a repair, in
	// order. Attempts still counts the command's attempts: those of every
	// run of the command, before and after repairs; the agents' attempts
	// are not counted.
	Repairs []RepairRound `json:"repairs,omitempty"`
}

// Progress is what a running node is doing, as its attempt reports it.
type Progress struct {
	// Turn is an agent's turn (a call of the model), from 1.
	Turn int `json:"turn,omitempty"`
	// Step says what it is doing now, e.g. "run go test ./...",
	// "edit_file api/handler.go", "waiting for the model".
	Step string `json:"step"`
	// Files counts the files it changed so far.
	Files int `json:"files,omitempty"`
	// InputTokens and OutputTokens are the tokens used so far.
	InputTokens  int `json:"input_tokens,omitempty"`
	OutputTokens int `json:"output_tokens,omitempty"`
}

// Status is a run's live or final state: the answer of the status query and
// the run's result.
type Status struct {
	WorkflowID    string            `json:"workflow_id"`
	RunID         string            `json:"run_id"`
	Pipeline      string            `json:"pipeline"`
	Template      string            `json:"template"`
	Mode          dag.Mode          `json:"mode"`
	FailurePolicy dag.FailurePolicy `json:"failure_policy"`
	Status        State             `json:"status"`
	Error         string            `json:"error"`
	StartedAt     time.Time         `json:"started_at"`
	EndedAt       *time.Time        `json:"ended_at"`
	RetryOf       string            `json:"retry_of,omitempty"`
	// Nodes has every node of a run of up to StatusNodes nodes; of a
	// bigger run, the first StatusNodes (declared order), and
	// NodesNextPageToken reads the rest (see NodesQuery).
	Nodes              []NodeStatus `json:"nodes"`
	NodesNextPageToken string       `json:"nodes_next_page_token,omitempty"`
	// NodesCompressed is Nodes gzip-compressed, in a run's result when
	// they are many (see Compact); decoding a Status expands it back into
	// Nodes, so that it is never set in a decoded Status.
	NodesCompressed []byte `json:"nodes_gzip,omitempty"`
	// Version grows with every change of a node's state; a NodesQuery
	// with Since reads the nodes changed after it.
	Version int64 `json:"version,omitempty"`
	// Running, Waiting (for an approval or the budget) and Failed list the
	// IDs of the nodes in those states, in declared order, at most
	// SummaryIDs each (Counts has the totals).
	Running []string `json:"running,omitempty"`
	Waiting []string `json:"waiting,omitempty"`
	Failed  []string `json:"failed,omitempty"`
	// CompletedNodes and TotalNodes give progress at a glance.
	CompletedNodes int `json:"completed_nodes"`
	TotalNodes     int `json:"total_nodes"`
	// Counts has the number of nodes in each state.
	Counts map[NodeState]int `json:"counts"`
	// Usage sums the token usage of the run's agent nodes (its Model is set
	// when they all used the same one); nil when none reported any.
	Usage *Usage `json:"usage,omitempty"`
	// Simulated says some phases of a built-in template produced
	// placeholder outputs: the worker that ran them had no agent provider
	// configured (MAESTRO_AGENT_PROVIDER).
	Simulated bool `json:"simulated,omitempty"`
	// Workspace is the repository of a workspace run.
	Workspace *WorkspaceStatus `json:"workspace,omitempty"`
	// Budget is the run's budget and its spend, for a run that has one.
	Budget *Budget `json:"budget,omitempty"`
}

// Budget is a run's budget and what it spent: the tokens (input, output
// and cache) and the cost of its agent nodes' completed attempts and of
// the attempts the budget stopped. A zero limit means no limit of that
// kind.
type Budget struct {
	Tokens      int     `json:"tokens"`
	USD         float64 `json:"usd"`
	SpentTokens int     `json:"spent_tokens"`
	SpentUSD    float64 `json:"spent_usd"`
	// CostUnknown says some usage has no price (its model is not in the
	// worker's price table), so SpentUSD leaves it out.
	CostUnknown bool `json:"cost_unknown,omitempty"`
}

// Reached reports whether the spend reached a limit.
func (b Budget) Reached() bool {
	return (b.Tokens > 0 && b.SpentTokens >= b.Tokens) || (b.USD > 0 && b.SpentUSD >= b.USD)
}

// Remaining returns what is left of the budget (at least a token or a
// tiny amount, so that a zero never reads as no limit; call it when the
// budget is not reached).
func (b Budget) Remaining() *Remaining {
	var r Remaining
	if b.Tokens > 0 {
		r.Tokens = max(b.Tokens-b.SpentTokens, 1)
	}
	if b.USD > 0 {
		r.USD = max(b.USD-b.SpentUSD, 1e-9)
	}
	return &r
}

// Node returns the status of the node with the given ID, or nil.
func (s *Status) Node(id string) *NodeStatus {
	for i := range s.Nodes {
		if s.Nodes[i].ID == id {
			return &s.Nodes[i]
		}
	}
	return nil
}

// Closed reports whether the run has finished.
func (s *Status) Closed() bool { return s.Status.Closed() }

// BudgetDecision is a person's answer to a run waiting for its budget: add
// to it, or reject (the waiting nodes fail).
type BudgetDecision struct {
	// AddUSD and AddTokens raise the budget's limits (of the kinds it
	// has).
	AddUSD    float64 `json:"add_usd,omitempty"`
	AddTokens int     `json:"add_tokens,omitempty"`
	Reject    bool    `json:"reject,omitempty"`
	Comment   string  `json:"comment,omitempty"`
	By        string  `json:"by,omitempty"`
}

// Limits of what a decision (a budget's or an approval's) may carry.
const (
	// MaxDecisionText bounds a decision's comment and by, in bytes: they
	// are recorded in the run's history.
	MaxDecisionText = 2000
	// MaxAddUSD and MaxAddTokens bound what one budget decision adds.
	MaxAddUSD    = 1e6
	MaxAddTokens = 1_000_000_000_000
)

// CheckText refuses a comment or by longer than MaxDecisionText bytes,
// naming the field.
func CheckText(comment, by string) error {
	switch {
	case len(comment) > MaxDecisionText:
		return fmt.Errorf("comment: longer than %d bytes (%d)", MaxDecisionText, len(comment))
	case len(by) > MaxDecisionText:
		return fmt.Errorf("by: longer than %d bytes (%d)", MaxDecisionText, len(by))
	}
	return nil
}

// CheckBounds is Check plus the limits a new decision must respect:
// amounts at most MaxAddUSD and MaxAddTokens (two additions of 1e308 made
// the budget infinite), comment and by at most MaxDecisionText bytes.
// (Decisions a run already recorded are checked with Check alone.)
func (d BudgetDecision) CheckBounds() error {
	if err := d.Check(); err != nil {
		return err
	}
	switch {
	case d.AddUSD > MaxAddUSD:
		return fmt.Errorf("add_usd: %v exceeds the limit of %v for one decision", d.AddUSD, MaxAddUSD)
	case d.AddTokens > MaxAddTokens:
		return fmt.Errorf("add_tokens: %d exceeds the limit of %d for one decision", d.AddTokens, MaxAddTokens)
	}
	return CheckText(d.Comment, d.By)
}

// Check says whether the decision is well formed: a rejection, or
// positive amounts (at least one).
func (d BudgetDecision) Check() error {
	switch {
	case d.Reject && (d.AddUSD != 0 || d.AddTokens != 0):
		return errors.New("give either reject or amounts to add, not both")
	case d.Reject:
		return nil
	case d.AddUSD < 0 || d.AddUSD != d.AddUSD:
		return fmt.Errorf("add_usd: must be positive, got %v", d.AddUSD)
	case d.AddTokens < 0:
		return fmt.Errorf("add_tokens: must be positive, got %d", d.AddTokens)
	case d.AddUSD == 0 && d.AddTokens == 0:
		return errors.New("add_usd or add_tokens: give a positive amount to add (or reject)")
	}
	return nil
}
