package workflows_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workflows"
)

// repaired is a command node with a repair by a command-provider agent
// running script in sh (the prompt on its stdin, args as $0, $1, ...).
func repaired(id string, argv []string, rounds int, prompt, script string, args ...string) dag.Node {
	n := command(id, argv)
	n.Executor.Spec.(*dag.CommandSpec).Repair = &dag.Repair{MaxRounds: rounds, Agent: &dag.AgentSpec{
		Provider: dag.ProviderCommand, Prompt: prompt,
		Process: dag.Process{Argv: append([]string{"sh", "-c", script}, args...)},
	}}
	return n
}

// needsFixed fails with exit code 3 and messages on stdout and stderr until the
// checkout has fixed.txt.
var needsFixed = []string{"sh", "-c", `test -f fixed.txt || { echo "--- FAIL: TestFixed"; echo "fixed.txt is missing" >&2; exit 3; }`}

// A command that fails is repaired by the agent in one round: the agent's
// commit (with the prompt it got) is pushed to its own ref, the command
// runs again on it and succeeds, and the run's branch holds the fix.
func TestRepairFixesAFailingCommand(t *testing.T) {
	t.Parallel()
	e, repo, start := workspaceEnv(t)
	p := withWorkspace(pipeline("repair-one", dag.ModeDAGParallel,
		repaired("t", needsFixed, 0, "", `cat > prompt.txt && touch fixed.txt && echo "created fixed.txt"`),
		writes("after", "after.txt", "after the fix", "t"),
	), repo)
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Completed, st.Status, st.Error)

	n := st.Node("t")
	require.Len(t, n.Repairs, 1)
	r := n.Repairs[0]
	assert.Equal(t, 1, r.Round)
	assert.Equal(t, run.RepairFixed, r.State)
	require.NotNil(t, r.ExitCode)
	assert.Equal(t, 3, *r.ExitCode)
	assert.Contains(t, r.OutputTail, "fixed.txt is missing")
	assert.Equal(t, "created fixed.txt", r.AgentOutput)
	require.NotNil(t, r.Commit)
	assert.True(t, r.Commit.Changed)
	assert.Equal(t, start, r.Commit.Base, "round 1 starts from the command's base")
	assert.Equal(t, 2, r.Commit.Files, "prompt.txt and fixed.txt")
	ref := dag.NodeRef(st.WorkflowID, "t.repair-1")
	assert.Equal(t, ref, r.Commit.Ref)
	assert.Equal(t, r.Commit.SHA, git(t, repo, "rev-parse", ref))
	assert.Equal(t, int32(2), n.Attempts, "the command ran twice")

	// The node's commit descends from the fix; so does the branch.
	require.NotNil(t, n.Commit)
	assert.Equal(t, r.Commit.SHA, n.Commit.Base, "the command ran again on the fix")
	git(t, repo, "merge-base", "--is-ancestor", r.Commit.SHA, n.Commit.SHA)
	head := st.Workspace.Head
	assert.Equal(t, head, git(t, repo, "rev-parse", "refs/heads/"+st.Workspace.Branch))
	files := strings.Fields(git(t, repo, "ls-tree", "-r", "--name-only", head))
	assert.Contains(t, files, "fixed.txt")
	assert.Contains(t, files, "after.txt")
	assert.NotContains(t, files, "maestro/t.repair-1.md", "a repair agent leaves no answer file")
	assert.Equal(t, st.Node("t").Commit.SHA, st.Node("after").Commit.Base)
	assert.Contains(t, git(t, repo, "log", "-1", "--format=%B", r.Commit.SHA), "Maestro-Node: t.repair-1")

	// The agent got the default prompt with the failure.
	prompt := git(t, repo, "show", r.Commit.SHA+":prompt.txt")
	for _, want := range []string{"You fix a failing build or test", `sh -c 'test -f fixed.txt || { echo "--- FAIL: TestFixed"; echo "fixed.txt is missing" >&2; exit 3; }'`,
		"Exit code: 3", "stdout:\n--- FAIL: TestFixed\n\nstderr:\nfixed.txt is missing", "repair round 1 of 3", "do not weaken the test"} {
		assert.Contains(t, prompt, want)
	}
}

// An agent that never fixes the command: after max_rounds the node fails
// with the command's last failure, and the run pushes no branch.
func TestRepairGivesUpAfterMaxRounds(t *testing.T) {
	t.Parallel()
	e, repo, _ := workspaceEnv(t)
	p := withWorkspace(pipeline("repair-never", dag.ModeDAGParallel,
		repaired("t", []string{"sh", "-c", `echo "still broken" >&2; exit 1`}, 2, "", `echo "I tried"`),
	), repo)
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Failed, st.Status)
	n := st.Node("t")
	assert.Equal(t, run.NodeFailed, n.Status)
	assert.Equal(t, "CommandExit", n.ErrorType)
	assert.Contains(t, n.Error, "exit code 1")
	assert.Contains(t, n.Error, "still broken")
	require.Len(t, n.Repairs, 2)
	for k, r := range n.Repairs {
		assert.Equal(t, k+1, r.Round)
		assert.Equal(t, run.RepairUnfixed, r.State)
		require.NotNil(t, r.Commit)
		assert.False(t, r.Commit.Changed, "the agent changed nothing")
	}
	assert.Equal(t, int32(3), n.Attempts, "the command ran three times, not retried on its exits")
	assert.False(t, refExists(repo, "refs/heads/"+st.Workspace.Branch), "a failed run pushes no branch")
	replays(t, st.WorkflowID)
}

// An agent that fixes the command only in round 2, told the round by its
// own prompt template (the default system prompt comes first): round 2 starts from round 1's commit, and the
// node's commit descends from both.
func TestRepairFixesInTheSecondRound(t *testing.T) {
	t.Parallel()
	e, repo, _ := workspaceEnv(t)
	p := withWorkspace(pipeline("repair-two", dag.ModeDAGParallel,
		repaired("t", needsFixed, 3, "round={{.Params.repair.round}} exit={{.Params.repair.exit_code}}",
			`p=$(cat); echo "$p" | grep "^round=" >> rounds.txt; case "$p" in *round=2*) touch fixed.txt;; esac`),
	), repo)
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Completed, st.Status, st.Error)
	n := st.Node("t")
	require.Len(t, n.Repairs, 2)
	assert.Equal(t, run.RepairUnfixed, n.Repairs[0].State)
	assert.Equal(t, run.RepairFixed, n.Repairs[1].State)
	one, two := n.Repairs[0].Commit, n.Repairs[1].Commit
	require.NotNil(t, one)
	require.NotNil(t, two)
	assert.Equal(t, one.SHA, two.Base, "round 2 starts from round 1's fix")
	assert.Equal(t, two.SHA, n.Commit.Base)
	git(t, repo, "merge-base", "--is-ancestor", one.SHA, st.Workspace.Head)
	assert.Equal(t, "round=1 exit=3\nround=2 exit=3", git(t, repo, "show", st.Workspace.Head+":rounds.txt"))
	assert.Equal(t, int32(3), n.Attempts)
	replays(t, st.WorkflowID)
	if *record {
		writeHistory(t, st.WorkflowID, "repair_second_round")
	}
}

// replays requires the run's history to replay without nondeterminism.
func replays(t *testing.T, workflowID string) {
	t.Helper()
	it := server.Client.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, ev)
	}
	r := worker.NewWorkflowReplayer()
	workflows.Register(r)
	require.NoError(t, r.ReplayWorkflowHistory(nil, hist))
}

// A worker that goes away during round 2's agent: another worker runs the
// round again from round 1's commit and the run completes.
func TestRepairResumesAfterACrash(t *testing.T) {
	t.Parallel()
	e, repo, _ := workspaceEnv(t)
	dir := t.TempDir()
	logFile, marker := filepath.Join(dir, "log"), filepath.Join(dir, "round2-started")
	// Round 1 writes one.txt; round 2's first run hangs until the worker
	// goes away, its second fixes.
	script := `p=$(cat); echo "$p" | grep "^round=" >> "$0"
case "$p" in
*round=1*) echo one > one.txt;;
*round=2*) test -e "$1" || { touch "$1"; exec sleep 60; }; touch fixed.txt;;
esac`
	n := repaired("t", needsFixed, 3, "round={{.Params.repair.round}}", script, logFile, marker)
	n.Retry = &dag.Retry{MaxAttempts: 3, InitialInterval: "100ms"}
	p := withWorkspace(pipeline("repair-crash", dag.ModeDAGParallel, n), repo)
	ctx := context.Background()
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := os.Stat(marker); return err == nil }, 30*time.Second, 20*time.Millisecond)
	mid := waitFor(t, e, started.WorkflowID, "round 2 running", func(st *run.Status) bool {
		rs := st.Node("t").Repairs
		return len(rs) == 2 && rs[1].State == run.RepairRunning
	})
	assert.Equal(t, run.NodeRunning, mid.Node("t").Status)
	assert.Equal(t, run.RepairUnfixed, mid.Node("t").Repairs[0].State)

	e.Worker.Stop() // the worker goes away during round 2
	time.Sleep(300 * time.Millisecond)
	e.StartWorker(t)

	st, err := e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	rs := st.Node("t").Repairs
	require.Len(t, rs, 2)
	assert.Equal(t, rs[0].Commit.SHA, rs[1].Commit.Base, "round 2 (run again) starts from round 1's fix")
	files := strings.Fields(git(t, repo, "ls-tree", "-r", "--name-only", st.Workspace.Head))
	assert.Contains(t, files, "one.txt")
	assert.Contains(t, files, "fixed.txt")
	log, err := os.ReadFile(logFile)
	require.NoError(t, err)
	assert.Equal(t, "round=1\nround=2\nround=2\n", string(log), "round 1 ran once, round 2 twice")
	replays(t, st.WorkflowID)
}
