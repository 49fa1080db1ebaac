package workflows

import (
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
)

// ApproveName is the name of the signal and of the update that decide an
// approval node: `temporal workflow signal --name approve --input
// '{"node":"deploy-gate","approved":true,"by":"ana"}'`. The update validates
// the decision and returns the node's state; the signal is fire-and-forget.
const ApproveName = "approve"

// ErrTypeApprovalRejected is the error type of an approval node that was
// rejected (or timed out with on_timeout reject).
const ErrTypeApprovalRejected = "ApprovalRejected"

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

// maxApprovalText caps the comment and the name kept in history.
const maxApprovalText = 2000

// gate is the state of one approval node while it waits.
type gate struct {
	cancelTimer workflow.CancelFunc
}

// approveUpdate is the approve update's handler: it hands the decision to
// the scheduler loop and returns the node's state once the decision is
// applied (or kept for a node that is not waiting yet).
func (r *run) approveUpdate(ctx workflow.Context, a Approval) (NodeStatus, error) {
	r.approvals.Send(ctx, a)
	n := r.byID[a.Node]
	if err := workflow.Await(ctx, func() bool {
		_, kept := r.early[a.Node]
		return kept || Terminal(n.status.Status)
	}); err != nil {
		return NodeStatus{}, err
	}
	return n.status, nil
}

// checkApproval says whether a decision can apply to the run now: the node
// exists, is an approval node and has not been decided.
func (r *run) checkApproval(a Approval) error {
	n, ok := r.byID[a.Node]
	switch {
	case a.Node == "":
		return errors.New("node: is required")
	case !ok:
		return fmt.Errorf("node %q: no such node", a.Node)
	case n.def.Executor.Kind != dag.KindApproval:
		return fmt.Errorf("node %q: is not an approval node (kind %s)", a.Node, n.def.Executor.Kind)
	case Terminal(n.status.Status):
		return fmt.Errorf("node %q: already %s", a.Node, n.status.Status)
	case r.stopping != "" || r.state != RunRunning:
		return fmt.Errorf("node %q: the run is ending (%s)", a.Node, r.stopping)
	}
	return nil
}

// receiveApproval records a decision from the signal or the update. A
// decision for an approval node that has not started waiting yet is kept
// and applied when it does.
func (r *run) receiveApproval(ctx workflow.Context, a Approval) {
	a.Comment = truncate(a.Comment, maxApprovalText)
	a.By = truncate(a.By, maxApprovalText)
	if err := r.checkApproval(a); err != nil {
		r.logger.Warn("approval ignored", "error", err)
		return
	}
	n := r.byID[a.Node]
	if n.status.Status == NodeWaitingApproval {
		r.decide(ctx, n, a)
		return
	}
	if r.early == nil {
		r.early = map[string]Approval{}
	}
	r.early[a.Node] = a
}

// startApproval makes n wait for a decision, with a timer when the node has
// a timeout.
func (r *run) startApproval(ctx, nodesCtx workflow.Context, sel workflow.Selector, n *node) {
	now := workflow.Now(ctx)
	n.status.Status = NodeWaitingApproval
	n.status.StartedAt = &now
	n.status.Attempts = 1
	r.running++
	if a, ok := r.early[n.def.ID]; ok {
		delete(r.early, n.def.ID)
		r.decide(ctx, n, a)
		return
	}
	n.gate = &gate{}
	if d := n.def.Timeout.Or(0); d > 0 {
		timerCtx, cancel := workflow.WithCancel(nodesCtx)
		n.gate.cancelTimer = cancel
		timer := workflow.NewTimerWithOptions(timerCtx, d, workflow.TimerOptions{Summary: "approval timeout: " + n.def.ID})
		sel.AddFuture(timer, func(f workflow.Future) {
			if f.Get(ctx, nil) != nil || n.status.Status != NodeWaitingApproval {
				return // decided, or the run is stopping
			}
			spec, _ := dag.SpecOf[*dag.ApprovalSpec](n.def.Executor)
			approve := spec != nil && spec.OnTimeout == dag.OnTimeoutApprove
			r.decide(ctx, n, Approval{Node: n.def.ID, Approved: approve, Timeout: true,
				Comment: fmt.Sprintf("no decision within %s", d)})
		})
	}
}

// decide completes or fails a waiting approval node.
func (r *run) decide(ctx workflow.Context, n *node, a Approval) {
	if n.gate != nil && n.gate.cancelTimer != nil {
		n.gate.cancelTimer()
	}
	n.gate = nil
	r.running--
	now := workflow.Now(ctx)
	n.status.EndedAt = &now
	n.status.Approval = &a
	text := describeApproval(a)
	if a.Approved {
		res := activities.NodeResult{Output: text, OutputBytes: len(text), Attempt: 1}
		n.result = &res
		n.status.Status = NodeCompleted
		n.setOutput(res)
		r.logger.Info("approval granted", "node", n.def.ID, "by", a.By, "timeout", a.Timeout)
		return
	}
	n.status.Status = NodeFailed
	n.status.Error = text
	n.status.ErrorType = ErrTypeApprovalRejected
	r.logger.Warn("approval rejected", "node", n.def.ID, "by", a.By, "timeout", a.Timeout)
	if r.p.Policy() == dag.FailFast {
		r.stop(RunFailed, fmt.Sprintf("node %q failed: %s", n.def.ID, text))
	}
}

// cancelApprovals ends every waiting approval node as cancelled; the run is
// stopping.
func (r *run) cancelApprovals(ctx workflow.Context) {
	for _, n := range r.nodes {
		if n.status.Status != NodeWaitingApproval {
			continue
		}
		if n.gate != nil && n.gate.cancelTimer != nil {
			n.gate.cancelTimer()
		}
		n.gate = nil
		r.running--
		now := workflow.Now(ctx)
		n.status.EndedAt = &now
		n.status.Status = NodeCancelled
		n.status.Error = "cancelled: " + r.errMsg
	}
}

func describeApproval(a Approval) string {
	var b strings.Builder
	switch {
	case a.Timeout && a.Approved:
		b.WriteString("approved automatically")
	case a.Timeout:
		b.WriteString("rejected automatically")
	case a.Approved:
		b.WriteString("approved")
	default:
		b.WriteString("rejected")
	}
	if a.By != "" {
		b.WriteString(" by " + a.By)
	}
	if a.Comment != "" {
		b.WriteString(": " + a.Comment)
	}
	return b.String()
}
