package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/maestrohq/maestro/run"
)

// Continuing as new. Temporal warns when one run's history passes 10,240
// events or 10 MB and fails it at 51,200 events or 50 MB; a node costs
// about 3.6 events and 0.8 KB. So once a part of a run has carryEvents
// events or carryBytes bytes, the run starts no new node, lets the running
// ones finish, and continues as new: the next part (same workflow ID, a
// new run ID) gets the pipeline and the state of every node that left
// pending, compressed (run.Carried), and goes on. Approval and budget waits
// are not carried across: while one waits, the run goes on in this part.
const (
	carryEvents = 7000
	carryBytes  = 6 << 20
)

// versionContinueAsNew marks runs that continue as new when their history
// grows long. Runs before it never did.
const versionContinueAsNew = "continue-as-new"

// ErrTypeBadCarriedState is the error type of a part of a run whose carried
// state cannot be decoded.
const ErrTypeBadCarriedState = "BadCarriedState"

// continued opens a run's input (run.Open): the run's original input and
// the state carried from the earlier part (nil for the first part).
func continued(in run.Input) (run.Input, *run.Carried, error) {
	in, c, err := run.Open(in)
	if err != nil {
		return in, nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadCarriedState, err)
	}
	return in, c, nil
}

// restore applies what the earlier part carried.
func (r *execution) restore(c *run.Carried) {
	r.s.restore(c)
	r.started = c.StartedAt
	r.part = c.Part
	r.ws = c.Workspace
}

// wantsCarry reports whether the run should get ready to continue as new:
// this part's history is long, and every active node is a running
// activity.
func (r *execution) wantsCarry(ctx workflow.Context) bool {
	if r.noCarry {
		return false
	}
	info := workflow.GetInfo(ctx)
	if info.GetCurrentHistoryLength() < carryEvents && info.GetCurrentHistorySize() < carryBytes {
		return false
	}
	if !r.s.canCarry() {
		return false
	}
	return workflow.GetVersion(ctx, versionContinueAsNew, workflow.DefaultVersion, 1) == 1
}

// maxCarriedBytes bounds the encoded state handed to the next part, far
// below Temporal's 2 MB payload limit (a 10,000-node pipeline and its states
// compress to ~120 KB; outputs that dependents still need can make it more).
const maxCarriedBytes = 1 << 20

// continueAsNew returns the error that continues the run as new with its
// state, once nothing runs. Signals already received are applied first
// (the caller drains the selector). It returns nil when the state is too
// big to hand over: the run then goes on in this part, and does not try
// again.
func (r *execution) continueAsNew(ctx workflow.Context) error {
	in := r.in
	in.Reuse, in.Continued = nil, nil
	c := &run.Carried{Input: in, Part: r.part + 1, StartedAt: r.started, Workspace: r.workspaceStatus()}
	r.s.carryState(c)
	data, err := c.Encode()
	if err != nil {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeBadCarriedState, err)
	}
	if len(data) > maxCarriedBytes {
		r.logger.Warn("not continuing as new: the carried state is too big; the run goes on in this part",
			"carried_bytes", len(data), "limit", maxCarriedBytes)
		r.noCarry = true
		return nil
	}
	r.logger.Info("continuing as new", "part", c.Part, "carried_nodes", len(c.Nodes), "carried_bytes", len(data),
		"history_events", workflow.GetInfo(ctx).GetCurrentHistoryLength())
	return workflow.NewContinueAsNewError(ctx, WorkflowName, run.Input{Continued: data})
}

// runTimeout is what is left of the run's timeout: it counts from the
// first part's start.
func (r *execution) runTimeout(ctx workflow.Context) time.Duration {
	left := r.p.RunTimeout() - workflow.Now(ctx).Sub(r.started)
	return max(left, time.Millisecond)
}

// partDetails says which part of the run this is, for the Web UI.
func (r *execution) partDetails() string {
	if r.part == 0 {
		return ""
	}
	return fmt.Sprintf("\n\nPart %d of the run (it continued as new to keep its history short)", r.part+1)
}
