package run

// State is a run's state, as Status.Status reports it.
type State string

// The run states.
const (
	Running   State = "running"
	Paused    State = "paused"
	Completed State = "completed"
	Failed    State = "failed"
	Cancelled State = "cancelled"
	TimedOut  State = "timed_out"
	// Terminated is set by clients: a terminated workflow records nothing
	// itself.
	Terminated State = "terminated"
)

// States lists the run states.
var States = []State{Running, Paused, Completed, Failed, Cancelled, TimedOut, Terminated}

// Closed reports whether a run in state s has finished.
func (s State) Closed() bool {
	switch s {
	case Running, Paused, "":
		return false
	}
	return true
}

// NodeState is a node's state, as NodeStatus.Status reports it.
type NodeState string

// The node states.
const (
	NodePending   NodeState = "pending"
	NodeRunning   NodeState = "running"
	NodeCompleted NodeState = "completed"
	NodeFailed    NodeState = "failed"
	NodeSkipped   NodeState = "skipped"
	NodeCancelled NodeState = "cancelled"
	// NodeWaitingApproval is an approval node waiting for a decision.
	NodeWaitingApproval NodeState = "waiting_approval"
	// NodeWaitingBudget is an agent node waiting for the run's budget to be
	// extended: the run's spend reached its budget before the node started,
	// or the node stopped before a model call that would have crossed it.
	NodeWaitingBudget NodeState = "waiting_budget"
)

// NodeStates lists the node states in display order.
var NodeStates = []NodeState{NodePending, NodeRunning, NodeWaitingApproval, NodeWaitingBudget, NodeCompleted, NodeFailed, NodeSkipped, NodeCancelled}

// Terminal reports whether s is final: completed, failed, skipped or
// cancelled.
func (s NodeState) Terminal() bool {
	return s != NodePending && s != NodeRunning && s != NodeWaitingApproval && s != NodeWaitingBudget
}

// Valid reports whether s is one of NodeStates.
func (s NodeState) Valid() bool {
	for _, k := range NodeStates {
		if s == k {
			return true
		}
	}
	return false
}
