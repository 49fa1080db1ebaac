package workflows

import (
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// workspaceActivityTimeout bounds resolving a run's start and pushing its
// branch (a fetch of a large repository included).
const workspaceActivityTimeout = 15 * time.Minute

// workspaceOptions are the options of the run's own workspace activities.
func workspaceOptions(id string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		ActivityID:          id,
		StartToCloseTimeout: workspaceActivityTimeout,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    30 * time.Second,
			MaximumAttempts:    5,
		},
		Summary: "workspace",
	}
}

// prepareWorkspace resolves where a workspace run starts, once: a worker
// fetches the repository and turns the ref into a commit SHA, recorded in
// history with the activity's result. A failure stops the run before any
// node starts.
func (r *execution) prepareWorkspace(ctx workflow.Context) {
	w := r.p.Workspace
	r.ws = &run.WorkspaceStatus{
		Repo:   w.Repo,
		Ref:    w.RefOrDefault(),
		Branch: w.BranchFor(r.info.WorkflowExecution.ID),
	}
	actCtx := workflow.WithActivityOptions(ctx, workspaceOptions("maestro:workspace-start"))
	var sha string
	err := workflow.ExecuteActivity(actCtx, activities.PrepareWorkspaceName, run.WorkspaceStart{
		WorkflowID: r.info.WorkflowExecution.ID,
		Repo:       w.Repo,
		Ref:        w.RefOrDefault(),
		Create:     w.Create,
	}).Get(ctx, &sha)
	switch {
	case temporal.IsCanceledError(err):
		r.s.stop(run.Cancelled, "run cancelled")
		return
	case err != nil:
		r.s.stop(run.Failed, workspaceMessage(err))
		return
	}
	r.ws.StartSHA = sha
}

// workspaceMessage is the run's error message for a failed workspace
// activity.
func workspaceMessage(err error) string {
	msg, _, _ := describeFailure(err, dag.Node{})
	if !strings.HasPrefix(msg, "workspace") {
		msg = "workspace: " + msg
	}
	return msg
}

// nodeWorkspace is what node i of a workspace run works on, or nil.
func (r *execution) nodeWorkspace(i int) *run.NodeWorkspace {
	if r.ws == nil {
		return nil
	}
	return &run.NodeWorkspace{Repo: r.ws.Repo, Bases: r.s.bases(i, r.ws.StartSHA), Start: r.ws.StartSHA, Date: r.started}
}

// finishWorkspace pushes a completed run's work to its branch: the commit
// its last node left, or the merge of its last nodes' commits. A failure
// (a merge conflict between them, the push refused) fails the run.
func (r *execution) finishWorkspace(ctx workflow.Context) {
	actCtx := workflow.WithActivityOptions(ctx, workspaceOptions("maestro:workspace-finish"))
	var head run.WorkspaceStatus
	err := workflow.ExecuteActivity(actCtx, activities.FinishWorkspaceName, run.WorkspaceFinish{
		WorkflowID: r.info.WorkflowExecution.ID,
		Repo:       r.ws.Repo,
		Start:      r.ws.StartSHA,
		Heads:      r.s.finalHeads(r.ws.StartSHA),
		Branch:     r.ws.Branch,
		Date:       r.started,
	}).Get(ctx, &head)
	switch {
	case temporal.IsCanceledError(err):
		r.s.stop(run.Cancelled, "run cancelled")
		return
	case err != nil:
		r.s.stop(run.Failed, workspaceMessage(err))
		return
	}
	r.ws.Head = head.Head
	r.ws.Files, r.ws.Insertions, r.ws.Deletions = head.Files, head.Insertions, head.Deletions
}
