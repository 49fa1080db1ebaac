package workflows_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
	"github.com/maestrohq/maestro/workspace"
)

// workspaceEnv is a test's Env whose worker has a workspace directory of
// its own, and a new bare repository holding one commit.
func workspaceEnv(t *testing.T) (e *testenv.Env, repo, start string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	repo = filepath.Join(t.TempDir(), "app.git")
	start, err := workspace.Init(context.Background(), "", repo)
	require.NoError(t, err)
	return server.New(t, testenv.WithWorkspaces("")), repo, start
}

// writes is a command node that writes content to file in its checkout.
func writes(id, file, content string, deps ...string) dag.Node {
	n := command(id, []string{"sh", "-c", `mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" > "$1"`, "sh", file, content}, deps...)
	n.Phase = "backend"
	return n
}

// git runs git in dir and returns its trimmed output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// refExists reports whether the bare repository has ref.
func refExists(repo, ref string) bool {
	return exec.Command("git", "-C", repo, "rev-parse", "--verify", "--quiet", ref).Run() == nil
}

func withWorkspace(p *dag.Pipeline, repo string) *dag.Pipeline {
	p.Workspace = &dag.Workspace{Repo: repo}
	return p
}

// A diamond a → (b ∥ c) → d of command nodes writing files leaves a branch
// holding every file, one commit per node plus the merge d started from,
// each with its trailers, and a ref per node.
func TestWorkspaceRunLeavesABranch(t *testing.T) {
	t.Parallel()
	e, repo, start := workspaceEnv(t)
	p := withWorkspace(pipeline("diamond", dag.ModeDAGParallel,
		writes("a", "a.txt", "from a"),
		writes("b", "src/b.txt", "from b", "a"),
		writes("c", "web/c.txt", "from c", "a"),
		// d sees what b and c wrote, merged, and its variables.
		command("d", []string{"sh", "-c", `cat src/b.txt web/c.txt > d.txt && printf '%s %s\n' "$MAESTRO_BASE_SHA" "$(pwd)" > where.txt && test "$(pwd)" = "$MAESTRO_WORKSPACE"`}, "b", "c"),
		noop("e", 0, "d"),
	), repo)
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Completed, st.Status, st.Error)

	ws := st.Workspace
	require.NotNil(t, ws)
	assert.Equal(t, start, ws.StartSHA)
	assert.Equal(t, "maestro/"+dag.RefSafe(st.WorkflowID), ws.Branch)
	require.NotEmpty(t, ws.Head)
	assert.Equal(t, ws.Head, git(t, repo, "rev-parse", "refs/heads/"+ws.Branch), "the branch is the run's head")
	assert.Equal(t, 5, ws.Files, "a.txt, b.txt, c.txt, d.txt, where.txt")

	files := strings.Fields(git(t, repo, "ls-tree", "-r", "--name-only", ws.Head))
	for _, f := range []string{"README.md", "a.txt", "src/b.txt", "web/c.txt", "d.txt", "where.txt"} {
		assert.Contains(t, files, f)
	}
	assert.Equal(t, "from b\nfrom c", git(t, repo, "show", ws.Head+":d.txt"))

	// One commit per changing node, plus the merge d started from.
	log := strings.Split(git(t, repo, "log", "--format=%s", start+".."+ws.Head), "\n")
	assert.Len(t, log, 5, "%q", log)
	assert.Equal(t, "d", log[0], "the head is d's commit (e changed nothing)")
	assert.Contains(t, log, "a (backend)")
	assert.True(t, slices.ContainsFunc(log, func(s string) bool { return strings.HasPrefix(s, "Merge") }), "%q", log)

	for _, id := range []string{"a", "b", "c", "d"} {
		n := st.Node(id)
		require.NotNil(t, n.Commit, id)
		ref := dag.NodeRef(st.WorkflowID, id)
		assert.Equal(t, ref, n.Commit.Ref)
		assert.Equal(t, n.Commit.SHA, git(t, repo, "rev-parse", ref), "%s's ref", id)
		assert.True(t, n.Commit.Changed, id)
		body := git(t, repo, "log", "-1", "--format=%B", n.Commit.SHA)
		assert.Contains(t, body, "Maestro-Run: "+st.WorkflowID, id)
		assert.Contains(t, body, "Maestro-Node: "+id, id)
	}
	assert.Equal(t, 1, st.Node("b").Commit.Files)
	assert.Equal(t, st.Node("a").Commit.SHA, st.Node("b").Commit.Base, "b starts from a")
	d := st.Node("d").Commit
	assert.Equal(t, []string{st.Node("b").Commit.SHA, st.Node("c").Commit.SHA}, strings.Fields(git(t, repo, "log", "-1", "--format=%P", d.Base)),
		"d's base merges b's and c's commits")
	assert.Equal(t, d.Base+" ", strings.SplitAfter(git(t, repo, "show", ws.Head+":where.txt"), " ")[0], "MAESTRO_BASE_SHA is the merge")
	assert.Nil(t, st.Node("e").Commit, "a noop node makes no commit")

	// Diffs: a node against its base, the whole run from its start.
	ctx := context.Background()
	nd, err := e.Runs.Diff(ctx, st.WorkflowID, "b")
	require.NoError(t, err)
	assert.Contains(t, nd.Text, "+++ b/src/b.txt")
	assert.Contains(t, nd.Text, "+from b")
	assert.NotContains(t, nd.Text, "a.txt", "only b's change")
	rd, err := e.Runs.Diff(ctx, st.WorkflowID, "")
	require.NoError(t, err)
	for _, f := range []string{"a.txt", "src/b.txt", "web/c.txt", "d.txt"} {
		assert.Contains(t, rd.Text, "+++ b/"+f)
	}
	assert.Equal(t, start, rd.From)
	_, err = e.Runs.Diff(ctx, st.WorkflowID, "e")
	assert.ErrorIs(t, err, runs.ErrNoCommit)
	_, err = e.Runs.Diff(ctx, st.WorkflowID, "nope")
	assert.ErrorIs(t, err, runs.ErrNoNode)
}

// A run with two last nodes pushes the merge of their commits; a join
// whose dependency already contains its other dependency makes no merge.
func TestWorkspaceTwoLastNodesAreMerged(t *testing.T) {
	t.Parallel()
	e, repo, start := workspaceEnv(t)
	p := withWorkspace(pipeline("two-sinks", dag.ModeDAGParallel,
		writes("a", "a.txt", "a"),
		writes("b", "b.txt", "b", "a"),
		writes("c", "c.txt", "c", "a", "b"), // b contains a: no merge
		writes("d", "d.txt", "d", "a"),
	), repo)
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, st.Node("b").Commit.SHA, st.Node("c").Commit.Base, "c starts from b, which contains a")
	head := st.Workspace.Head
	assert.Equal(t, []string{st.Node("c").Commit.SHA, st.Node("d").Commit.SHA}, strings.Fields(git(t, repo, "log", "-1", "--format=%P", head)),
		"the branch is the merge of the last nodes' commits")
	assert.Equal(t, "a.txt\nb.txt\nc.txt\nd.txt", git(t, repo, "diff", "--name-only", start, head))
}

// b and c writing the same file differently: d fails with MergeConflict
// naming the file, the run fails and no branch is pushed.
func TestWorkspaceMergeConflictFailsTheJoin(t *testing.T) {
	t.Parallel()
	e, repo, _ := workspaceEnv(t)
	p := withWorkspace(pipeline("conflict", dag.ModeDAGParallel,
		writes("b", "same.txt", "from b"),
		writes("c", "same.txt", "from c"),
		writes("d", "d.txt", "d", "b", "c"),
	), repo)
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Failed, st.Status)
	d := st.Node("d")
	assert.Equal(t, run.NodeFailed, d.Status)
	assert.Equal(t, activities.ErrTypeMergeConflict, d.ErrorType)
	assert.Contains(t, d.Error, "same.txt")
	assert.False(t, refExists(repo, "refs/heads/"+st.Workspace.Branch), "nothing is pushed to the branch")
	assert.Empty(t, st.Workspace.Head)
}

// An attempt that writes a file and then fails leaves nothing behind: the
// next attempt starts from a fresh checkout of the same base, and the
// node's commit holds only what the successful attempt wrote.
func TestWorkspaceRetriedAttemptStartsClean(t *testing.T) {
	t.Parallel()
	e, repo, _ := workspaceEnv(t)
	marker := filepath.Join(t.TempDir(), "tried")
	n := command("flaky", []string{"sh", "-c", `if [ ! -e "$1" ]; then echo junk > junk.txt; touch "$1"; exit 3; fi; echo ok > good.txt`, "sh", marker})
	n.Retry = &dag.Retry{MaxAttempts: 2, InitialInterval: "10ms"}
	st := runToEnd(t, e, runs.StartRequest{DAG: withWorkspace(pipeline("flaky", dag.ModeDAGParallel, n), repo)})
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.EqualValues(t, 2, st.Node("flaky").Attempts)
	c := st.Node("flaky").Commit
	require.NotNil(t, c)
	assert.Equal(t, "good.txt", git(t, repo, "diff", "--name-only", c.Base, c.SHA))
	assert.Equal(t, 1, c.Files)
}

// A retry of a run whose last node failed re-runs only that node, from the
// commits the completed nodes made, and pushes the branch of the run it
// retries when it completes.
func TestWorkspaceRetryReusesCommits(t *testing.T) {
	t.Parallel()
	e, repo, _ := workspaceEnv(t)
	gate := filepath.Join(t.TempDir(), "gate")
	p := withWorkspace(pipeline("retry", dag.ModeDAGParallel,
		writes("a", "a.txt", "a"),
		writes("b", "b.txt", "b", "a"),
		command("last", []string{"sh", "-c", `test -e "$1" && cat a.txt b.txt > last.txt`, "sh", gate}, "b"),
	), repo)
	first := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Failed, first.Status)
	assert.False(t, refExists(repo, "refs/heads/"+first.Workspace.Branch))

	require.NoError(t, os.WriteFile(gate, nil, 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	started, err := e.Runs.Retry(ctx, first.WorkflowID)
	require.NoError(t, err)
	st, err := e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	for _, id := range []string{"a", "b"} {
		assert.True(t, st.Node(id).Reused, id)
		assert.Equal(t, first.Node(id).Commit.SHA, st.Node(id).Commit.SHA, "%s's commit is reused", id)
	}
	assert.Equal(t, first.Node("b").Commit.SHA, st.Node("last").Commit.Base, "the failed node starts from its dependency's commit")
	assert.Equal(t, first.Workspace.StartSHA, st.Workspace.StartSHA)
	assert.Equal(t, first.Workspace.Branch, st.Workspace.Branch, "the retry pushes the branch of the run it retries")
	assert.Equal(t, st.Workspace.Head, git(t, repo, "rev-parse", "refs/heads/"+first.Workspace.Branch))
	assert.Equal(t, "a\nb", git(t, repo, "show", st.Workspace.Head+":last.txt"))
}

// Two workers with workspace directories of their own, on one task queue,
// complete one run together: they share nothing but the repository.
func TestWorkspaceTwoWorkersShareOnlyTheRemote(t *testing.T) {
	t.Parallel()
	e, repo, _ := workspaceEnv(t)
	m2, err := workspace.New(context.Background(), workspace.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	e.StartWorkerWith(t, activities.Config{Workspaces: m2})
	// Each node records the checkout it ran in, to see both workers work.
	rec := func(id string, deps ...string) dag.Node {
		n := command(id, []string{"sh", "-c", `echo "$MAESTRO_WORKSPACE" > "$1.where" && sleep 0.2`, "sh", id}, deps...)
		return n
	}
	p := withWorkspace(pipeline("two-workers", dag.ModeDAGParallel,
		rec("n1"), rec("n2", "n1"), rec("n3", "n1"), rec("n4", "n1"), rec("n5", "n2", "n3"), rec("n6", "n4", "n5"),
	), repo)
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Completed, st.Status, st.Error)
	files := strings.Fields(git(t, repo, "ls-tree", "-r", "--name-only", st.Workspace.Head))
	for _, id := range []string{"n1", "n2", "n3", "n4", "n5", "n6"} {
		assert.Contains(t, files, id+".where")
	}
}

// A workspace run on a worker that cannot run one (no workspace manager)
// fails at the start with a clear error, before any node runs.
func TestWorkspaceRunNeedsAWorkerWithWorkspaces(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	p := withWorkspace(pipeline("no-git", dag.ModeDAGParallel, noop("a", 0)), "/nonexistent/app.git")
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Failed, st.Status)
	assert.Contains(t, st.Error, "cannot run workspace runs")
	assert.Equal(t, run.NodeSkipped, st.Node("a").Status)
}

// A template run in a workspace on a worker without an agent provider
// builds the sample project, one commit per phase, and the branch's tests
// pass.
func TestSimulatedTemplateLeavesAWorkingProject(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not installed")
	}
	e, repo, start := workspaceEnv(t)
	st := runToEnd(t, e, runs.StartRequest{Template: templates.SDLCParallel, Requirement: "Build a todo app",
		Workspace: &dag.Workspace{Repo: repo}, Params: map[string]any{runs.TestCommandParam: gobin + " test ./..."}})
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.True(t, st.Simulated)

	// The tests the testing phase wrote fail on the backend's bug; the
	// verify node's (simulated) repair agent fixes it in one round.
	verify := st.Node(runs.VerifyNodeID)
	require.NotNil(t, verify)
	require.Len(t, verify.Repairs, 1)
	assert.Equal(t, run.RepairFixed, verify.Repairs[0].State)
	assert.Contains(t, verify.Repairs[0].OutputTail, "title =")
	assert.Contains(t, st.Node("review").DependsOn, runs.VerifyNodeID)

	head := st.Workspace.Head
	files := strings.Fields(git(t, repo, "ls-tree", "-r", "--name-only", head))
	for _, f := range []string{"docs/requirements.md", "docs/design.md", "go.mod", "todo/todo.go", "cmd/todo/main.go",
		"web/index.html", "todo/todo_test.go", "REVIEW.md", "DEPLOY.md"} {
		assert.Contains(t, files, f)
	}
	assert.Contains(t, git(t, repo, "show", head+":docs/requirements.md"), "Build a todo app")
	assert.Contains(t, git(t, repo, "show", head+":REVIEW.md"), "`todo/todo.go`", "the review lists the run's files")
	subjects := git(t, repo, "log", "--format=%s", start+".."+head)
	for _, phase := range []string{"requirements", "design", "backend", "frontend", "testing", "review", "deployment"} {
		assert.Contains(t, subjects, "("+phase+")")
	}

	// The branch builds and its tests pass.
	dir := filepath.Join(t.TempDir(), "clone")
	out, err := exec.Command("git", "clone", "-q", "--branch", st.Workspace.Branch, repo, dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	test := exec.Command(gobin, "test", "./...")
	test.Dir = dir
	test.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	out, err = test.CombinedOutput()
	require.NoError(t, err, "go test on the branch: %s", out)
	assert.Contains(t, string(out), "ok  \texample.com/todo/todo")
}
