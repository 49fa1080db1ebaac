package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/workspace"
)

// Names of the workspace activities.
const (
	// PrepareWorkspaceName resolves where a workspace run starts.
	PrepareWorkspaceName = "PrepareWorkspace"
	// FinishWorkspaceName pushes a completed workspace run to its branch.
	FinishWorkspaceName = "FinishWorkspace"
)

// Error types of workspace runs.
const (
	ErrTypeMergeConflict = "MergeConflict"  // merging a node's bases conflicts; non-retryable
	ErrTypeUnknownRef    = "UnknownRef"     // the workspace's ref names nothing; non-retryable
	ErrTypeWorkspace     = "WorkspaceError" // git failed (fetch, checkout, commit, push); retryable
	ErrTypeBranchMoved   = "BranchMoved"    // the run's branch holds commits its work does not contain: not overwritten; non-retryable
)

// workspaceKinds are the kinds that work in a checkout; the others pass
// their base on.
var workspaceKinds = map[string]bool{dag.KindCommand: true, dag.KindAgent: true}

// manager returns the worker's workspace manager, or a configuration error
// saying why this worker cannot run workspace runs.
func (a *Activities) manager() (*workspace.Manager, error) {
	if a.cfg.Workspaces != nil {
		return a.cfg.Workspaces, nil
	}
	why := "it has no workspace directory"
	if a.cfg.WorkspacesUnavailable != nil {
		why = a.cfg.WorkspacesUnavailable.Error()
	}
	return nil, configError("this worker cannot run workspace runs: %s", why)
}

// checkRepo applies the worker policy to a workspace's repository.
func (a *Activities) checkRepo(repo string) error {
	if a.cfg.Policy == nil || a.cfg.Policy.RepoAllowed(repo) {
		return nil
	}
	return &nodeError{typ: ErrTypePolicyDenied, nonRetryable: true,
		msg: fmt.Sprintf("workspace.repo: %s", a.cfg.Policy.RepoDenial(repo))}
}

// PrepareWorkspace resolves the commit a workspace run starts from (and
// creates a missing local repository when asked to).
func (a *Activities) PrepareWorkspace(ctx context.Context, in run.WorkspaceStart) (string, error) {
	sha, err := a.prepareWorkspace(ctx, in)
	if err != nil {
		return "", a.workspaceFailure(ctx, "workspace start", err)
	}
	return sha, nil
}

func (a *Activities) prepareWorkspace(ctx context.Context, in run.WorkspaceStart) (string, error) {
	if err := a.checkRepo(in.Repo); err != nil {
		return "", err
	}
	m, err := a.manager()
	if err != nil {
		return "", err
	}
	stop := heartbeat(ctx)
	defer stop()
	if in.Create && dag.IsLocalRepo(in.Repo) {
		if _, err := os.Stat(in.Repo); errors.Is(err, os.ErrNotExist) {
			if _, err := workspace.Init(ctx, a.cfg.GitPath, in.Repo); err != nil {
				return "", err
			}
		}
	}
	return m.Resolve(ctx, in.Repo, in.Ref)
}

// FinishWorkspace pushes a completed run's work to its branch: its one
// head, or the merge of its heads.
func (a *Activities) FinishWorkspace(ctx context.Context, in run.WorkspaceFinish) (run.WorkspaceStatus, error) {
	st, err := a.finishWorkspace(ctx, in)
	if err != nil {
		return run.WorkspaceStatus{}, a.workspaceFailure(ctx, "workspace finish", err)
	}
	return st, nil
}

func (a *Activities) finishWorkspace(ctx context.Context, in run.WorkspaceFinish) (run.WorkspaceStatus, error) {
	if err := a.checkRepo(in.Repo); err != nil {
		return run.WorkspaceStatus{}, err
	}
	m, err := a.manager()
	if err != nil {
		return run.WorkspaceStatus{}, err
	}
	stop := heartbeat(ctx)
	defer stop()
	if len(in.Heads) == 0 {
		return run.WorkspaceStatus{}, configError("workspace finish: no head commits")
	}
	head := in.Heads[0]
	if len(in.Heads) > 1 {
		c, err := m.Checkout(ctx, in.Repo, workspace.CheckoutOptions{Bases: in.Heads, Date: in.Date,
			MergeMessage: "Merge the last phases of " + in.WorkflowID})
		if err != nil {
			return run.WorkspaceStatus{}, err
		}
		head = c.Base()
		if err := c.Remove(); err != nil {
			a.cfg.Logger.WarnContext(ctx, "cannot remove a checkout", "error", err)
		}
	}
	if err := m.PushBranch(ctx, in.Repo, head, in.Branch); err != nil {
		return run.WorkspaceStatus{}, err
	}
	st := run.WorkspaceStatus{Head: head}
	if s, err := m.DiffStat(ctx, in.Repo, in.Start, head); err == nil {
		st.Files, st.Insertions, st.Deletions = s.Files, s.Insertions, s.Deletions
	}
	return st, nil
}

// inCheckout runs one attempt of a command or agent node of a workspace run
// in a fresh checkout of its bases, then commits what it changed and pushes
// the commit to refs/maestro/<run>/<node>. The checkout is removed however
// the attempt ends, so a failed or killed attempt leaves nothing for the
// next one.
func (a *Activities) inCheckout(ctx context.Context, in run.NodeInput, x Executor) (run.NodeResult, error) {
	if err := a.checkRepo(in.Workspace.Repo); err != nil {
		return run.NodeResult{}, err
	}
	m, err := a.manager()
	if err != nil {
		return run.NodeResult{}, err
	}
	stop := heartbeat(ctx)
	c, err := m.Checkout(ctx, in.Workspace.Repo, workspace.CheckoutOptions{Bases: in.Workspace.Bases, Date: in.Workspace.Date})
	stop()
	if err != nil {
		return run.NodeResult{}, err
	}
	defer func() {
		if err := c.Remove(); err != nil {
			a.cfg.Logger.WarnContext(ctx, "cannot remove a checkout", "node", in.Node.ID, "error", err)
		}
	}()
	ws := *in.Workspace
	ws.Dir, ws.Base = c.Path(), c.Base()
	in.Workspace = &ws

	res, err := x.Run(ctx, a, in)
	if err != nil {
		return res, err
	}
	if err := a.writeAnswer(in, res); err != nil {
		return run.NodeResult{}, err
	}
	stop = heartbeat(ctx)
	defer stop()
	msg := in.Node.DisplayName()
	if in.Node.Phase != "" {
		msg += " (" + in.Node.Phase + ")"
	}
	cm, err := c.Commit(ctx, msg, [][2]string{{"Maestro-Run", in.WorkflowID}, {"Maestro-Node", in.Node.ID}}, workspace.Identity{}, time.Time{})
	if err != nil {
		return run.NodeResult{}, err
	}
	ref := dag.NodeRef(in.WorkflowID, in.Node.ID)
	if err := m.Push(ctx, in.Workspace.Repo, cm.SHA, ref); err != nil {
		return run.NodeResult{}, err
	}
	res.Commit = &run.Commit{
		SHA: cm.SHA, Base: c.Base(), Parents: cm.Parents, Changed: cm.Changed, Ref: ref,
		Files: cm.Files, Insertions: cm.Insertions, Deletions: cm.Deletions,
	}
	return res, nil
}

// AnswerDir is where, in a workspace run, a simulated agent phase of a
// custom phase (one the sample project has no files for) leaves its
// answer: AnswerDir/<node id>.md, committed as the phase's work. Real
// agents change the checkout themselves.
const AnswerDir = "maestro"

// writeAnswer leaves a simulated phase's work in its checkout (see
// writeSimulated); real agents' work is what they changed.
func (a *Activities) writeAnswer(in run.NodeInput, res run.NodeResult) error {
	if !res.Simulated {
		return nil
	}
	return a.writeSimulated(in, res)
}

// runExecutor runs one attempt of a node with executor x: in a checkout
// for the kinds that work in one in a workspace run, else as is.
func (a *Activities) runExecutor(ctx context.Context, x Executor, in run.NodeInput) (run.NodeResult, error) {
	if in.Workspace == nil || !workspaceKinds[in.Node.Executor.Kind] {
		return x.Run(ctx, a, in)
	}
	res, err := a.inCheckout(ctx, in, x)
	if err != nil {
		return res, workspaceError(err)
	}
	return res, nil
}

// workspaceError classifies a workspace failure as a node error.
func workspaceError(err error) error {
	var ne *nodeError
	var conflict *workspace.MergeConflictError
	switch {
	case errors.As(err, &ne):
		return err
	case errors.As(err, &conflict):
		return &nodeError{typ: ErrTypeMergeConflict, nonRetryable: true, msg: fmt.Sprintf("merge conflict in %s", joinFiles(conflict.Files))}
	case errors.Is(err, workspace.ErrNotFastForward):
		return &nodeError{typ: ErrTypeBranchMoved, nonRetryable: true,
			msg: err.Error() + " (the branch has commits the run's work does not contain; the run's work is in refs/maestro/<run>/<node>)"}
	case errors.Is(err, workspace.ErrUnknownRef):
		return &nodeError{typ: ErrTypeUnknownRef, nonRetryable: true, msg: err.Error()}
	case errors.Is(err, workspace.ErrGitMissing), errors.Is(err, workspace.ErrGitTooOld),
		errors.Is(err, workspace.ErrInvalidRepo), errors.Is(err, workspace.ErrInvalidRef):
		return &nodeError{typ: ErrTypeConfig, nonRetryable: true, msg: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return &nodeError{typ: ErrTypeWorkspace, msg: err.Error()}
}

// joinFiles lists conflicting files, at most 20.
func joinFiles(files []string) string {
	const most = 20
	if len(files) > most {
		return fmt.Sprintf("%s and %d more", strings.Join(files[:most], ", "), len(files)-most)
	}
	return strings.Join(files, ", ")
}

// workspaceFailure turns a failure of the run's own workspace activities
// into the application error the workflow records.
func (a *Activities) workspaceFailure(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ne *nodeError
	if !errors.As(workspaceError(err), &ne) {
		return err
	}
	a.cfg.Logger.WarnContext(ctx, what+" failed", "error_type", ne.typ, "attempt", activity.GetInfo(ctx).Attempt)
	return temporal.NewApplicationErrorWithOptions(capText(ne.msg, a.cfg.MaxErrorBytes), ne.typ,
		temporal.ApplicationErrorOptions{NonRetryable: ne.nonRetryable})
}

// maxPromptDiff caps the run's diff shown in a prompt.
const maxPromptDiff = 200 << 10

// runDiff is the run's diff from its start to the node's base, for the
// review role's prompt; "" when there is none or it cannot be made (the
// review goes on without it, and the worker logs why).
func (a *Activities) runDiff(ctx context.Context, in run.NodeInput) string {
	ws := in.Workspace
	if ws.Start == "" || ws.Base == "" || a.cfg.Workspaces == nil {
		return ""
	}
	diff, truncated, err := a.cfg.Workspaces.Diff(ctx, ws.Repo, ws.Start, ws.Base, maxPromptDiff)
	if err != nil {
		a.cfg.Logger.WarnContext(ctx, "cannot show the run's diff to the agent", "node", in.Node.ID, "error", err)
		return ""
	}
	if truncated {
		diff += "\n[the diff is cut at 200 KiB]"
	}
	return diff
}
