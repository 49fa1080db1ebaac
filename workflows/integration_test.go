package workflows_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
)

var server *testenv.Server

func TestMain(m *testing.M) {
	server = testenv.Start()
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

func noop(id string, d time.Duration, deps ...string) dag.Node {
	n := dag.Node{ID: id, DependsOn: deps, Executor: dag.NewExecutor(&dag.NoopSpec{})}
	if d > 0 {
		n.Executor.Spec.(*dag.NoopSpec).Duration = dag.Duration(d.String())
	}
	return n
}

func command(id string, argv []string, deps ...string) dag.Node {
	return dag.Node{ID: id, DependsOn: deps, HeartbeatTimeout: "2s",
		Retry:    &dag.Retry{MaxAttempts: 1},
		Executor: dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{Argv: argv}})}
}

func pipeline(name string, mode dag.Mode, nodes ...dag.Node) *dag.Pipeline {
	return &dag.Pipeline{Name: name, Mode: mode, Nodes: nodes}
}

// run starts req and waits for the run to close.
func runToEnd(t *testing.T, e *testenv.Env, req runs.StartRequest) *run.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	started, err := e.Runs.Start(ctx, req)
	require.NoError(t, err)
	st, err := e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	return st
}

// waitFor polls the run's status until cond holds.
func waitFor(t *testing.T, e *testenv.Env, id string, what string, cond func(*run.Status) bool) *run.Status {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := e.Runs.Status(context.Background(), id)
		if err == nil && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last status %+v, err %v)", what, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func nodeState(id string, state run.NodeState) func(*run.Status) bool {
	return func(st *run.Status) bool { n := st.Node(id); return n != nil && n.Status == state }
}

func overlap(a, b *run.NodeStatus) bool {
	return a.StartedAt.Before(*b.EndedAt) && b.StartedAt.Before(*a.EndedAt)
}

// maxConcurrent is the largest number of nodes running at one instant.
func maxConcurrent(st *run.Status) int {
	best := 0
	for _, n := range st.Nodes {
		if n.StartedAt == nil {
			continue
		}
		at, count := *n.StartedAt, 0
		for _, m := range st.Nodes {
			if m.StartedAt != nil && !m.StartedAt.After(at) && m.EndedAt.After(at) {
				count++
			}
		}
		best = max(best, count)
	}
	return best
}

func startOrder(st *run.Status) []string {
	nodes := slices.Clone(st.Nodes)
	slices.SortStableFunc(nodes, func(a, b run.NodeStatus) int { return a.StartedAt.Compare(*b.StartedAt) })
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}

func TestSDLCParallelCompletesWithBackendAndFrontendOverlapping(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	p, err := templates.Build(templates.SDLCParallel, "Build a todo app")
	require.NoError(t, err)
	for i := range p.Nodes {
		p.Nodes[i].Executor = dag.NewExecutor(&dag.NoopSpec{Duration: "300ms"})
	}
	st := runToEnd(t, e, runs.StartRequest{DAG: p})

	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, 7, st.TotalNodes)
	assert.Equal(t, 7, st.CompletedNodes)
	for _, n := range st.Nodes {
		assert.Equal(t, run.NodeCompleted, n.Status, n.ID)
		assert.EqualValues(t, 1, n.Attempts, n.ID)
		assert.NotEmpty(t, n.Output, n.ID)
	}
	assert.True(t, overlap(st.Node("backend"), st.Node("frontend")), "backend and frontend must run at the same time")
	assert.False(t, st.Node("design").EndedAt.After(*st.Node("backend").StartedAt), "backend starts after design ends")
	assert.False(t, st.Node("frontend").EndedAt.After(*st.Node("testing").StartedAt), "testing waits for frontend")
	assert.False(t, st.Node("backend").EndedAt.After(*st.Node("testing").StartedAt), "testing waits for backend")
}

func TestTemplateRunCarriesRequirement(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	st := runToEnd(t, e, runs.StartRequest{Template: templates.SDLCLinear, Requirement: "Ship it"})
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, templates.SDLCLinear, st.Template)
	assert.Equal(t, dag.ModeLinear, st.Mode)
	assert.Equal(t, []string{"requirements", "design", "backend", "frontend", "testing", "review", "deployment"}, startOrder(st))
	assert.Equal(t, 1, maxConcurrent(st))
}

// A node starts when ITS dependencies are done, not when its whole level is:
// b (short) → c (long) and a (long) → d (short) take max(a+d, b+c), not
// max(a,b) + max(c,d).
func TestWallTimeFollowsCriticalPathNotLevels(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	long, short := 1500*time.Millisecond, 100*time.Millisecond
	p := pipeline("uneven", dag.ModeDAGParallel,
		noop("a", long), noop("b", short),
		noop("c", long, "b"), noop("d", short, "a"))
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Completed, st.Status, st.Error)

	a, c := st.Node("a"), st.Node("c")
	assert.True(t, c.StartedAt.Before(*a.EndedAt), "c must start as soon as b is done, while a still runs")
	wall := st.EndedAt.Sub(st.StartedAt)
	levelSum := 2 * long
	assert.Less(t, wall, levelSum-500*time.Millisecond, "wall time %s should be near the critical path %s", wall, long+short)
	assert.GreaterOrEqual(t, wall, long+short)
}

func TestModesOrderExecution(t *testing.T) {
	t.Parallel()
	// Declared order differs from a topological order: z has no
	// dependencies but is declared last; y depends on x.
	nodes := func() []dag.Node {
		return []dag.Node{noop("x", 200*time.Millisecond), noop("w", 200*time.Millisecond),
			noop("y", 200*time.Millisecond, "x"), noop("z", 200*time.Millisecond)}
	}
	tests := []struct {
		mode      dag.Mode
		order     []string // nil: any
		maxAtOnce int
	}{
		{dag.ModeLinear, []string{"x", "w", "y", "z"}, 1},
		{dag.ModeDAGLinear, []string{"x", "w", "z", "y"}, 1},
		{dag.ModeDAGParallel, nil, 3},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			t.Parallel()
			e := server.New(t)
			st := runToEnd(t, e, runs.StartRequest{DAG: pipeline("modes", tt.mode, nodes()...)})
			require.Equal(t, run.Completed, st.Status, st.Error)
			assert.Equal(t, tt.mode, st.Mode)
			if tt.order != nil {
				assert.Equal(t, tt.order, startOrder(st))
			}
			assert.Equal(t, tt.maxAtOnce, maxConcurrent(st))
		})
	}
}

func TestModeDefaultComesFromConfig(t *testing.T) {
	t.Parallel()
	e := server.New(t) // configured with dag_parallel as the default
	st := runToEnd(t, e, runs.StartRequest{DAG: pipeline("default-mode", "", noop("a", 0), noop("b", 0))})
	assert.Equal(t, dag.ModeDAGParallel, st.Mode)
}

func TestMaxParallelIsHonoured(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	var nodes []dag.Node
	for i := range 6 {
		nodes = append(nodes, noop(fmt.Sprintf("n%d", i), 400*time.Millisecond))
	}
	p := pipeline("capped", dag.ModeDAGParallel, nodes...)
	p.MaxParallel = 2
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, 2, maxConcurrent(st))
}

func TestRetryThenSuccess(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	n := noop("flaky", 0)
	n.Executor.Spec.(*dag.NoopSpec).FailAttempts = 2
	n.Retry = &dag.Retry{MaxAttempts: 3, InitialInterval: "50ms"}
	st := runToEnd(t, e, runs.StartRequest{DAG: pipeline("flaky", dag.ModeDAGParallel, n)})
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.EqualValues(t, 3, st.Node("flaky").Attempts)
}

func TestRetriesExhaustedFailTheNode(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	n := noop("flaky", 0)
	n.Executor.Spec.(*dag.NoopSpec).FailAttempts = 5
	n.Retry = &dag.Retry{MaxAttempts: 2, InitialInterval: "50ms"}
	st := runToEnd(t, e, runs.StartRequest{DAG: pipeline("flaky", dag.ModeDAGParallel, n)})
	require.Equal(t, run.Failed, st.Status)
	assert.EqualValues(t, 2, st.Node("flaky").Attempts)
	assert.Contains(t, st.Node("flaky").Error, "injected failure")
}

func TestNonRetryableFailureStopsAtOnce(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	n := command("build", []string{"sh", "-c", "echo compile error >&2; exit 3"})
	n.Retry = &dag.Retry{MaxAttempts: 5, InitialInterval: "50ms", NonRetryable: []string{"CommandExit"}}
	st := runToEnd(t, e, runs.StartRequest{DAG: pipeline("nonretry", dag.ModeDAGParallel, n)})
	require.Equal(t, run.Failed, st.Status)
	b := st.Node("build")
	assert.Equal(t, run.NodeFailed, b.Status)
	assert.EqualValues(t, 1, b.Attempts)
	assert.Equal(t, "CommandExit", b.ErrorType)
	assert.Contains(t, b.Error, "3")
	assert.Contains(t, b.Error, "compile error")
	assert.Contains(t, st.Error, `"build"`)
}

func failing(id string, deps ...string) dag.Node {
	n := noop(id, 0, deps...)
	n.Executor.Spec.(*dag.NoopSpec).FailAttempts = 99
	n.Retry = &dag.Retry{MaxAttempts: 1}
	return n
}

func TestFailFastCancelsRunningAndSkipsTheRest(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	slow := noop("slow", 30*time.Second)
	slow.HeartbeatTimeout = "2s"
	p := pipeline("failfast", dag.ModeDAGParallel, failing("bad"), slow, noop("after", 0, "bad"), noop("later", 0, "slow"))
	p.FailurePolicy = dag.FailFast
	began := time.Now()
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	assert.Less(t, time.Since(began), 10*time.Second, "the slow node must be cancelled, not awaited")

	require.Equal(t, run.Failed, st.Status)
	assert.Contains(t, st.Error, `node "bad" failed`)
	assert.Equal(t, run.NodeFailed, st.Node("bad").Status)
	assert.Equal(t, run.NodeCancelled, st.Node("slow").Status)
	assert.Equal(t, run.NodeSkipped, st.Node("after").Status)
	assert.Equal(t, run.NodeSkipped, st.Node("later").Status)
	assert.NotNil(t, st.EndedAt)
}

func TestContinueRunsIndependentBranches(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	p := pipeline("continue", dag.ModeDAGParallel,
		failing("bad"), noop("good", 300*time.Millisecond),
		noop("after-bad", 0, "bad"), noop("after-after-bad", 0, "after-bad"), noop("after-good", 0, "good"))
	p.FailurePolicy = dag.Continue
	st := runToEnd(t, e, runs.StartRequest{DAG: p})

	require.Equal(t, run.Failed, st.Status)
	assert.Contains(t, st.Error, "bad")
	assert.Equal(t, run.NodeFailed, st.Node("bad").Status)
	assert.Equal(t, run.NodeCompleted, st.Node("good").Status)
	assert.Equal(t, run.NodeCompleted, st.Node("after-good").Status)
	assert.Equal(t, run.NodeSkipped, st.Node("after-bad").Status)
	assert.Contains(t, st.Node("after-bad").Error, `"bad"`)
	assert.Equal(t, run.NodeSkipped, st.Node("after-after-bad").Status)
	assert.Equal(t, 2, st.CompletedNodes)
	assert.Equal(t, map[run.NodeState]int{"pending": 0, "running": 0, "waiting_approval": 0, "waiting_budget": 0, "completed": 2, "failed": 1, "skipped": 2, "cancelled": 0}, st.Counts)
}

func TestWholeRunTimeoutRecordsEveryNode(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	slow := noop("slow", 30*time.Second)
	slow.HeartbeatTimeout = "1500ms" // at most the run's timeout
	p := pipeline("timeout", dag.ModeDAGParallel, noop("quick", 0), slow, noop("next", 0, "slow"))
	p.Timeout = "1500ms"
	began := time.Now()
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	assert.Less(t, time.Since(began), 10*time.Second)

	require.Equal(t, run.TimedOut, st.Status)
	assert.Contains(t, st.Error, "timed out")
	assert.Equal(t, run.NodeCompleted, st.Node("quick").Status)
	assert.Equal(t, run.NodeCancelled, st.Node("slow").Status)
	assert.Equal(t, run.NodeSkipped, st.Node("next").Status)
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func TestCancelKillsARunningCommand(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	sleeper := command("sleeper", []string{"sh", "-c", `echo $$ > "$0"; exec sleep 60`, pidFile})
	sleeper.HeartbeatTimeout = "" // the default, 30 s
	p := pipeline("cancel", dag.ModeDAGParallel, sleeper, noop("after", 0, "sleeper"))
	ctx := context.Background()
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)

	var pid int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	}, 20*time.Second, 20*time.Millisecond)
	require.True(t, processAlive(pid))

	// The node heartbeats every second and the worker sends each heartbeat
	// at once, so the cancellation reaches the process within about a
	// second (plus SIGTERM's effect); before, it took the SDK's throttle of
	// 80 % of the 30 s heartbeat timeout. The bound is generous for a
	// loaded machine.
	cancelled := time.Now()
	require.NoError(t, e.Runs.Cancel(ctx, started.WorkflowID))
	require.Eventually(t, func() bool { return !processAlive(pid) }, 5*time.Second, 10*time.Millisecond,
		"the command must stop soon after the run is cancelled")
	t.Logf("the command stopped %s after the cancel request", time.Since(cancelled).Round(time.Millisecond))
	st, err := e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	assert.False(t, processAlive(pid), "the command's process must be gone once the run is cancelled")
	require.Equal(t, run.Cancelled, st.Status)
	assert.Equal(t, run.NodeCancelled, st.Node("sleeper").Status)
	assert.Equal(t, run.NodeSkipped, st.Node("after").Status)
	assert.ErrorIs(t, e.Runs.Cancel(ctx, started.WorkflowID), runs.ErrNotRunning)
}

func TestPauseHoldsNewNodesUntilResume(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	p := pipeline("pause", dag.ModeDAGParallel, noop("first", time.Second), noop("second", 0, "first"))
	ctx := context.Background()
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	id := started.WorkflowID

	waitFor(t, e, id, "first running", nodeState("first", run.NodeRunning))
	require.NoError(t, e.Runs.Pause(ctx, id))
	st := waitFor(t, e, id, "first completed", nodeState("first", run.NodeCompleted))
	assert.Equal(t, run.Paused, st.Status)
	time.Sleep(500 * time.Millisecond)
	st, err = e.Runs.Status(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, run.NodePending, st.Node("second").Status, "no node starts while paused")
	assert.Equal(t, run.Paused, st.Status)

	require.NoError(t, e.Runs.Resume(ctx, id))
	st, err = e.Runs.Wait(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, run.Completed, st.Status)
	assert.True(t, st.Node("second").StartedAt.After(*st.Node("first").EndedAt))
}

// logNode appends its id to a log file each time it executes.
func logNode(id, logFile string, deps ...string) dag.Node {
	return command(id, []string{"sh", "-c", `echo "$1" >> "$0"; echo "$1 output"`, logFile, id}, deps...)
}

func executions(t *testing.T, logFile string) []string {
	b, err := os.ReadFile(logFile)
	require.NoError(t, err)
	return strings.Fields(string(b))
}

func TestRetryOfAFailedRunSkipsCompletedNodes(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	dir := t.TempDir()
	logFile, flag := filepath.Join(dir, "log"), filepath.Join(dir, "broken")
	require.NoError(t, os.WriteFile(flag, nil, 0o644))
	p := pipeline("retry", dag.ModeDAGParallel,
		logNode("a", logFile),
		command("b", []string{"sh", "-c", `echo "b" >> "$0"; test ! -e "$1" && echo "got: $MAESTRO_INPUT_A"`, logFile, flag}, "a"),
		logNode("c", logFile, "b"))
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Failed, st.Status)
	require.Equal(t, run.NodeCompleted, st.Node("a").Status)
	require.Equal(t, run.NodeFailed, st.Node("b").Status)

	require.NoError(t, os.Remove(flag))
	ctx := context.Background()
	retried, err := e.Runs.Retry(ctx, st.WorkflowID)
	require.NoError(t, err)
	assert.NotEqual(t, st.WorkflowID, retried.WorkflowID)
	st2, err := e.Runs.Wait(ctx, retried.WorkflowID)
	require.NoError(t, err)

	require.Equal(t, run.Completed, st2.Status, st2.Error)
	assert.Equal(t, st.WorkflowID, st2.RetryOf)
	assert.True(t, st2.Node("a").Reused)
	assert.False(t, st2.Node("b").Reused)
	assert.Equal(t, "got: a output", strings.TrimSpace(st2.Node("b").Output), "the reused node's output flows to its dependents")
	assert.Equal(t, []string{"a", "b", "b", "c"}, executions(t, logFile), "a ran once, b twice, c once")

	_, err = e.Runs.Retry(ctx, retried.WorkflowID)
	assert.ErrorIs(t, err, runs.ErrNotRetryable, "a completed run has nothing to retry")
}

func TestANewWorkerFinishesARunWithoutRerunningCompletedNodes(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "log")
	// The first attempt of slow hangs until the worker goes away; the next
	// one finishes at once.
	marker := filepath.Join(dir, "slow-started")
	slow := command("slow", []string{"sh", "-c", `echo slow >> "$0"; test -e "$1" && exit 0; touch "$1"; exec sleep 60`, logFile, marker}, "a")
	slow.Retry = &dag.Retry{MaxAttempts: 3, InitialInterval: "100ms"}
	p := pipeline("crash", dag.ModeDAGParallel, logNode("a", logFile), slow, logNode("c", logFile, "slow"))
	ctx := context.Background()
	started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	waitFor(t, e, started.WorkflowID, "slow running", nodeState("slow", run.NodeRunning))
	require.Eventually(t, func() bool { return slices.Contains(executions(t, logFile), "slow") }, 10*time.Second, 20*time.Millisecond)

	e.Worker.Stop() // the worker goes away mid-run
	time.Sleep(300 * time.Millisecond)
	e.StartWorker(t)

	st, err := e.Runs.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	runsOf := func(id string) int {
		return len(slices.DeleteFunc(executions(t, logFile), func(s string) bool { return s != id }))
	}
	assert.Equal(t, 1, runsOf("a"), "a completed before the crash and is not run again")
	assert.Equal(t, 2, runsOf("slow"), "slow was interrupted and ran again on the new worker")
	assert.Equal(t, 1, runsOf("c"))
}

func TestStatusOfUnknownRun(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	_, err := e.Runs.Status(context.Background(), "no-such-run")
	assert.ErrorIs(t, err, runs.ErrNotFound)
	assert.ErrorIs(t, e.Runs.Pause(context.Background(), "no-such-run"), runs.ErrNotFound)
}

func TestInvalidPipelineStartsNothing(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	_, err := e.Runs.Start(context.Background(), runs.StartRequest{
		ID:  "invalid-run",
		DAG: pipeline("bad", dag.ModeDAGParallel, noop("a", 0, "b"), noop("b", 0, "a"), noop("a", 0)),
	})
	var verr *dag.ValidationError
	require.True(t, errors.As(err, &verr), "got %v", err)
	assert.GreaterOrEqual(t, len(verr.Problems), 2)
	_, err = e.Runs.Status(context.Background(), "invalid-run")
	assert.ErrorIs(t, err, runs.ErrNotFound)
}

func TestSameIDReturnsTheSameRun(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	ctx := context.Background()
	req := runs.StartRequest{ID: "idempotent-" + e.TaskQueue, DAG: pipeline("idem", dag.ModeDAGParallel, noop("a", 300*time.Millisecond))}
	first, err := e.Runs.Start(ctx, req)
	require.NoError(t, err)
	again, err := e.Runs.Start(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, first.RunID, again.RunID)
	assert.True(t, again.Existing)
	_, err = e.Runs.Wait(ctx, first.WorkflowID)
	require.NoError(t, err)
	closed, err := e.Runs.Start(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, first.RunID, closed.RunID, "a closed run's id is not reused either")
}

// visible lists the runs that query matches among those with workflow ID id.
func visible(t *testing.T, id, query string) bool {
	t.Helper()
	resp, err := server.Client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("WorkflowId = '%s' AND %s", id, query),
	})
	require.NoError(t, err)
	return len(resp.GetExecutions()) == 1
}

func TestSearchAttributesFollowTheRun(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	ctx := context.Background()
	started, err := e.Runs.Start(ctx, runs.StartRequest{Template: templates.SDLCParallel, Requirement: "x"})
	require.NoError(t, err)
	id := started.WorkflowID
	require.NoError(t, e.Runs.Pause(ctx, id))
	base := "MaestroTemplate = 'sdlc-parallel' AND MaestroPipeline = 'sdlc-parallel' AND MaestroMode = 'dag_parallel'"
	assert.Eventually(t, func() bool { return visible(t, id, base+" AND MaestroStatus = 'paused'") },
		10*time.Second, 50*time.Millisecond, "a paused run is found by MaestroStatus = 'paused'")
	require.NoError(t, e.Runs.Resume(ctx, id))
	_, err = e.Runs.Wait(ctx, id)
	require.NoError(t, err)
	assert.Eventually(t, func() bool { return visible(t, id, base+" AND MaestroStatus = 'completed'") },
		10*time.Second, 50*time.Millisecond, "a completed run is found by MaestroStatus = 'completed'")
}
