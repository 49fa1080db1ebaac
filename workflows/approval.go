package workflows

import (
	"github.com/maestrohq/maestro/run"

	"errors"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// ApproveName is the name of the signal and of the update that decide an
// approval node: `temporal workflow signal --name approve --input
// '{"node":"deploy-gate","approved":true,"by":"ana"}'`. The update validates
// the decision and returns the node's state; the signal is fire-and-forget.
// "approved" is required: a decision without it is refused by the update
// and ignored (logged) by the signal, never taken as a rejection.
const ApproveName = "approve"

// ErrTypeApprovalRejected is the error type of an approval node that was
// rejected (or timed out with on_timeout reject).
const ErrTypeApprovalRejected = "ApprovalRejected"

// maxApprovalText caps the comment and the name kept in history.
const maxApprovalText = 2000

// approvalRequest is a decision as the approve update and signal receive
// it: the same JSON as run.Approval, but it tells a missing "approved" from
// false, so that a decision that forgot it does not reject the node.
type approvalRequest struct {
	Node     string `json:"node"`
	Approved *bool  `json:"approved"`
	Comment  string `json:"comment,omitempty"`
	By       string `json:"by,omitempty"`
	Timeout  bool   `json:"timeout,omitempty"`
}

// errApprovedRequired refuses a decision without "approved".
var errApprovedRequired = errors.New("approved: is required (true or false)")

// approval returns the decision, or an error when approved is missing.
func (q approvalRequest) approval() (run.Approval, error) {
	if q.Approved == nil {
		return run.Approval{}, errApprovedRequired
	}
	return run.Approval{Node: q.Node, Approved: *q.Approved, Comment: q.Comment, By: q.By, Timeout: q.Timeout}, nil
}

// validateApproval is the approve update's validator: a refused decision
// is not recorded in the run's history. Beyond what applying a decision
// checks, it refuses a comment or by over run.MaxDecisionText bytes, and
// more than maxEarlyDecisions decisions for a node that does not wait yet
// (the last one applies when it does; each stays in history, and a few
// dozen 2 MB comments once pushed a run past Temporal's history limit).
// These bounds are checked here only (Temporal does not run validators on
// replay), so that runs that recorded such decisions before replay the
// same.
func (r *execution) validateApproval(q approvalRequest) error {
	a, err := q.approval()
	if err != nil {
		return err
	}
	if err := run.CheckText(a.Comment, a.By); err != nil {
		return err
	}
	if err := r.s.checkApproval(a); err != nil {
		return err
	}
	if r.s.node(r.s.index[a.Node]).Status != run.NodeWaitingApproval && !r.s.earlyDecisionsLeft(a.Node) {
		return fmt.Errorf("node %q: %d decisions were already sent before it waits; the last one applies when it does", a.Node, maxEarlyDecisions)
	}
	return nil
}

// approveUpdate is the approve update's handler: it hands the decision to
// the scheduler loop and returns the node's state once the decision is
// applied (or kept for a node that is not waiting yet).
func (r *execution) approveUpdate(ctx workflow.Context, q approvalRequest) (run.NodeStatus, error) {
	r.approvals.Send(ctx, q)
	i := r.s.index[q.Node]
	if err := workflow.Await(ctx, func() bool {
		return r.s.kept(q.Node) || r.s.node(i).Status.Terminal()
	}); err != nil {
		return run.NodeStatus{}, fmt.Errorf("wait for the decision on %q: %w", q.Node, err)
	}
	return r.s.node(i), nil
}

// receiveApproval applies a decision from the signal or the update. A
// decision for an approval node that has not started waiting yet is kept
// and applied when it does.
func (r *execution) receiveApproval(ctx workflow.Context, q approvalRequest) {
	a, err := q.approval()
	if err == nil {
		var i int
		var decided bool
		i, decided, err = r.s.receiveApproval(a, workflow.Now(ctx))
		if decided {
			r.closeGate(i)
		}
	}
	if err != nil {
		r.logger.Warn("approval ignored", "error", err)
	}
}

// startGate makes approval node i wait for a decision, with a timer when
// the node has a timeout.
func (r *execution) startGate(ctx, nodesCtx workflow.Context, sel workflow.Selector, i int) {
	d := r.p.Nodes[i]
	after := d.Timeout.Or(0)
	if after <= 0 {
		return
	}
	timerCtx, cancel := workflow.WithCancel(nodesCtx)
	r.gates[i] = cancel
	timer := workflow.NewTimerWithOptions(timerCtx, after, workflow.TimerOptions{Summary: "approval timeout: " + d.ID})
	sel.AddFuture(timer, func(f workflow.Future) {
		if f.Get(ctx, nil) != nil {
			return // decided, or the run is stopping
		}
		if r.s.approvalTimedOut(i, after, workflow.Now(ctx)) {
			r.closeGate(i)
		}
	})
}

// closeGate cancels the timeout timer of approval node i, which has been
// decided or cancelled.
func (r *execution) closeGate(i int) {
	if cancel, ok := r.gates[i]; ok {
		cancel()
		delete(r.gates, i)
	}
}

// cancelApprovals ends every waiting approval node as cancelled; the run is
// stopping.
func (r *execution) cancelApprovals(ctx workflow.Context) {
	for _, i := range r.s.cancelWaiting(workflow.Now(ctx)) {
		r.closeGate(i)
	}
}

func describeApproval(a run.Approval) string {
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
