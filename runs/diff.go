package runs

import (
	"context"
	"errors"
	"fmt"
)

// MaxDiffBytes caps a diff Diff returns.
const MaxDiffBytes = 4 << 20

// Errors of Diff.
var (
	// ErrNoWorkspace: the run works in no repository, so it has no diff.
	ErrNoWorkspace = errors.New("the run has no workspace")
	// ErrNoCommit: the node (or the run) has no commit yet.
	ErrNoCommit = errors.New("no commit yet")
	// ErrDiffUnavailable: this process cannot compute diffs (no git).
	ErrDiffUnavailable = errors.New("diffs are not available here")
	// ErrNoNode: the run has no node of that ID.
	ErrNoNode = errors.New("no such node")
)

// CommitDiff is the unified diff of a node of a workspace run against its base,
// or of the whole run from its start to its head.
type CommitDiff struct {
	WorkflowID string `json:"workflow_id"`
	// Node is the node's ID; empty for the whole run.
	Node string `json:"node,omitempty"`
	// From and To are the commits compared.
	From string `json:"from"`
	To   string `json:"to"`
	// Text is the diff, cut at MaxDiffBytes (Truncated).
	Text      string `json:"diff"`
	Truncated bool   `json:"truncated"`
}

// Diff returns the diff of node (empty: the whole run, start..head) of a
// workspace run. It reads the commits from the run's status and computes
// the diff with git in this process (Config.Workspaces), fetching from the
// run's repository what its mirror lacks.
func (s *Service) Diff(ctx context.Context, workflowID, node string) (*CommitDiff, error) {
	st, err := s.Status(ctx, workflowID)
	if err != nil {
		return nil, err
	}
	ws := st.Workspace
	if ws == nil || ws.StartSHA == "" {
		return nil, fmt.Errorf("%w: %s", ErrNoWorkspace, workflowID)
	}
	d := &CommitDiff{WorkflowID: workflowID, Node: node}
	if node == "" {
		if ws.Head == "" {
			return nil, fmt.Errorf("%w: run %s has no head until it completes", ErrNoCommit, workflowID)
		}
		d.From, d.To = ws.StartSHA, ws.Head
	} else {
		n := st.Node(node)
		switch {
		case n == nil:
			return nil, fmt.Errorf("%w: %q in run %s", ErrNoNode, node, workflowID)
		case n.Commit == nil:
			return nil, fmt.Errorf("%w: node %q of run %s has no commit (not completed, or it works in no checkout)", ErrNoCommit, node, workflowID)
		}
		d.From, d.To = n.Commit.Base, n.Commit.SHA
	}
	if s.cfg.Workspaces == nil {
		return nil, fmt.Errorf("%w: this process has no workspace directory", ErrDiffUnavailable)
	}
	m, err := s.cfg.Workspaces()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDiffUnavailable, err)
	}
	if s.cfg.Policy != nil && !s.cfg.Policy.RepoAllowed(ws.Repo) {
		return nil, fmt.Errorf("%w: %s", ErrDiffUnavailable, s.cfg.Policy.RepoDenial(ws.Repo))
	}
	d.Text, d.Truncated, err = m.Diff(ctx, ws.Repo, d.From, d.To, MaxDiffBytes)
	if err != nil {
		return nil, fmt.Errorf("diff of %s: %w", workflowID, err)
	}
	return d, nil
}
