package dag

// KindApproval waits for a person to approve or reject; it runs no activity.
const KindApproval = "approval"

// What an approval node does when its timeout passes without a decision.
const (
	OnTimeoutReject  = "reject"
	OnTimeoutApprove = "approve"
)

// ApprovalSpec configures an approval node.
type ApprovalSpec struct {
	// OnTimeout is reject (default) or approve: what happens when the
	// node's timeout passes without a decision.
	OnTimeout string `json:"on_timeout,omitempty"`
}

// Kind returns KindApproval.
func (*ApprovalSpec) Kind() string { return KindApproval }

// Gate reports true: the workflow decides an approval node.
func (*ApprovalSpec) Gate() bool { return true }

// Validate checks on_timeout.
func (s *ApprovalSpec) Validate() []Problem {
	var ps problems
	if s.OnTimeout != "" && s.OnTimeout != OnTimeoutReject && s.OnTimeout != OnTimeoutApprove {
		ps.add("on_timeout", "unknown action %q (want reject or approve)", s.OnTimeout)
	}
	return ps
}
