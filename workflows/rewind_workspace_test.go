package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// A completed workspace run rewound to its second node: the first keeps its
// commit, the second runs again from the same base commit (the first's) and
// makes a new one, and the run's branch, moved back to the start commit by
// the rewind, gets the new head.
func TestRewindWorkspaceRunKeepsEarlierCommits(t *testing.T) {
	t.Parallel()
	e, repo, _ := workspaceEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := withWorkspace(pipeline("ws-rewind", dag.ModeDAGParallel,
		writes("a", "a.txt", "a"),
		command("b", []string{"sh", "-c", "date +%s%N > b.txt"}, "a")), repo)
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	first, err := e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, first.Status, first.Error)

	rw, err := e.Runs.Rewind(ctx, started.WorkflowID, "b", runs.RewindOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, rw.Kept)
	require.Len(t, rw.Notes, 1)
	assert.Contains(t, rw.Notes[0], "moved back")
	st, err := e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, st.Workspace.Head, git(t, repo, "rev-parse", "refs/heads/"+first.Workspace.Branch), "the branch is the new head")

	assert.Equal(t, first.Node("a").Commit.SHA, st.Node("a").Commit.SHA, "a keeps its commit")
	require.NotNil(t, st.Node("b").Commit)
	assert.Equal(t, first.Node("b").Commit.Base, st.Node("b").Commit.Base, "b starts from the same base")
	assert.Equal(t, first.Node("a").Commit.SHA, st.Node("b").Commit.Base)
	assert.NotEqual(t, first.Node("b").Commit.SHA, st.Node("b").Commit.SHA, "b made a new commit")
}
