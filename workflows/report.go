package workflows

import (
	"github.com/maestrohq/maestro/run"

	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// snapshot returns a copy of the run's state, with every node of a run of
// up to run.StatusNodes nodes and the first run.StatusNodes of a bigger one
// (the nodes query pages through the rest): the status query's answer and
// the run's result stay far below Temporal's payload limit at any size.
func (r *execution) snapshot() *run.Status {
	nodes, counts := r.s.nodeStates(run.StatusNodes)
	st := &run.Status{
		WorkflowID:     r.info.WorkflowExecution.ID,
		RunID:          r.info.WorkflowExecution.RunID,
		Pipeline:       r.p.Name,
		Template:       r.in.Template,
		Mode:           r.p.Mode,
		FailurePolicy:  r.p.Policy(),
		Status:         r.s.runState(),
		Error:          r.s.errMsg,
		StartedAt:      r.started,
		EndedAt:        r.ended,
		RetryOf:        r.in.RetryOf,
		TotalNodes:     len(r.p.Nodes),
		Counts:         counts,
		Nodes:          nodes,
		CompletedNodes: counts[run.NodeCompleted],
		Usage:          totalUsage(r.s.nodes),
		Simulated:      simulated(r.in, r.s.results),
		Workspace:      r.workspaceStatus(),
		Budget:         r.s.budgetStatus(),
	}
	if len(nodes) < len(r.p.Nodes) {
		st.NodesNextPageToken = run.PageTokenAt(len(nodes))
	}
	st.Running, st.Waiting, st.Failed = r.s.summary(run.SummaryIDs)
	st.Version = r.s.version
	return st
}

// workspaceStatus is a copy of the run's repository status, or nil.
func (r *execution) workspaceStatus() *run.WorkspaceStatus {
	if r.ws == nil {
		return nil
	}
	ws := *r.ws
	return &ws
}

// publish shows progress in the Temporal Web UI's current details and keeps
// the MaestroStatus search attribute up to date, when anything they show
// changed since the last call.
func (r *execution) publish(ctx workflow.Context) {
	if !r.s.takeChanged() {
		return
	}
	state := r.s.runState()
	if d := r.currentDetails(state); d != r.details {
		workflow.SetCurrentDetails(ctx, d)
		r.details = d
	}
	r.index(ctx, state)
}

// currentDetails is the Markdown the Web UI shows for the run.
func (r *execution) currentDetails(state run.State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** — %s, %d/%d nodes completed", r.p.Name, state, r.s.count(run.NodeCompleted), len(r.p.Nodes))
	if running := r.s.running(10); len(running) > 0 {
		b.WriteString("; running: " + strings.Join(running, ", "))
		if more := r.s.count(run.NodeRunning) - len(running); more > 0 {
			fmt.Fprintf(&b, " and %d more", more)
		}
	}
	if ws := r.ws; ws != nil {
		fmt.Fprintf(&b, "\n\nRepository: %s, branch %s", ws.Repo, ws.Branch)
		if ws.Head != "" {
			fmt.Fprintf(&b, " at %.12s", ws.Head)
		}
	}
	if bud := r.s.budgetStatus(); bud != nil {
		b.WriteString(r.budgetDetails(bud))
	}
	if req, ok := r.p.Params["requirement"].(string); ok && req != "" {
		b.WriteString("\n\nRequirement: " + truncate(req, 300))
	}
	if r.s.errMsg != "" {
		b.WriteString("\n\n" + r.s.errMsg)
	}
	b.WriteString(r.partDetails())
	return b.String()
}

// index keeps the MaestroStatus search attribute equal to the run's state, so
// that visibility queries can tell paused and timed-out runs apart.
func (r *execution) index(ctx workflow.Context, state run.State) {
	if r.indexed == "" || r.indexed == state {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchAttrStatus.ValueSet(string(state))); err != nil {
		r.logger.Warn("cannot update search attribute", "name", SearchAttrStatus.GetName(), "error", err)
		return
	}
	r.indexed = state
}
