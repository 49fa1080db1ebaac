package workflows

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// These tests drive the scheduler alone, the way the workflow's loop does,
// without any server or SDK test environment.

func task(id string, deps ...string) dag.Node {
	return dag.Node{ID: id, DependsOn: deps, Executor: dag.NewExecutor(&dag.NoopSpec{})}
}

func approvalGate(id string, deps ...string) dag.Node {
	return dag.Node{ID: id, DependsOn: deps, Executor: dag.NewExecutor(&dag.ApprovalSpec{})}
}

// step is one event fed to the scheduler and what it starts in response.
type step struct {
	// do is "complete ID", "fail ID", "cancelled ID" (an activity resolved
	// as cancelled), "approve ID", "reject ID", "gate-timeout ID", "pause",
	// "resume", "timeout" or "cancel".
	do string
	// start lists the nodes started after the event, comma-separated.
	start string
	// state, when set, is the run's state after the event.
	state run.State
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// loop does what the workflow's loop does after each event: start what may
// start, and cancel waiting approvals when stopping. It returns the started
// node IDs.
func loop(t *testing.T, s *scheduler) string {
	t.Helper()
	var started []string
	s.startReady(t0, func(i int, _ startKind) {
		started = append(started, s.nodes[i].ID)
	})
	s.skipDeferred() // as the workflow does since versionSkipAtOnce
	if s.stopping != "" {
		s.cancelWaiting(t0)
	}
	checkInvariants(t, s)
	return strings.Join(started, ",")
}

// checkInvariants compares the scheduler's bookkeeping with its nodes.
func checkInvariants(t *testing.T, s *scheduler) {
	t.Helper()
	var counts [numNodeStates]int
	act := []int{}
	for i, n := range s.nodes {
		counts[stateIndex(n.Status)]++
		if active(n.Status) {
			act = append(act, i)
		}
	}
	require.Equal(t, counts, s.counts, "counts per state")
	require.Equal(t, act, append([]int{}, s.active...), "active set")
	require.LessOrEqual(t, len(s.active), s.limit, "parallelism")
	seen := map[int]bool{}
	for _, i := range s.ready.items {
		require.False(t, seen[i], "node %s queued twice", s.nodes[i].ID)
		seen[i] = true
		require.Zero(t, s.missing[i], "node %s queued with dependencies missing", s.nodes[i].ID)
	}
	for i, n := range s.nodes {
		if n.Status == run.NodePending && s.missing[i] == 0 && !s.finishing {
			require.True(t, seen[i], "ready node %s not queued", n.ID)
		}
	}
}

func apply(t *testing.T, s *scheduler, do string) {
	t.Helper()
	verb, id, _ := strings.Cut(do, " ")
	i := -1
	if id != "" {
		var ok bool
		i, ok = s.index[id]
		require.True(t, ok, "no node %q", id)
	}
	switch verb {
	case "complete":
		require.Equal(t, run.NodeRunning, s.nodes[i].Status, "%s", do)
		s.complete(i, run.NodeResult{Output: id + " done", Attempt: 1}, t0)
	case "fail":
		require.Equal(t, run.NodeRunning, s.nodes[i].Status, "%s", do)
		s.fail(i, "boom", "Boom", 3, t0)
	case "cancelled":
		require.Equal(t, run.NodeRunning, s.nodes[i].Status, "%s", do)
		s.cancelled(i, t0)
	case "approve", "reject":
		_, _, err := s.receiveApproval(run.Approval{Node: id, Approved: verb == "approve", By: "ana"}, t0)
		require.NoError(t, err, "%s", do)
	case "gate-timeout":
		s.approvalTimedOut(i, time.Minute, t0)
	case "pause":
		s.pause()
	case "resume":
		s.resume()
	case "timeout":
		s.stop(run.TimedOut, "run timed out after 1h0m0s")
	case "cancel":
		s.stop(run.Cancelled, "run cancelled")
	default:
		t.Fatalf("unknown step %q", do)
	}
}

func TestScheduler(t *testing.T) {
	tests := []struct {
		name     string
		mode     dag.Mode
		policy   dag.FailurePolicy
		parallel int
		nodes    []dag.Node
		reuse    []string
		first    string // started before any event
		steps    []step
		run      run.State                // final run state
		errMsg   string                   // final run error
		states   map[string]run.NodeState // final node states
		errors   map[string]string        // final node errors
	}{
		{
			name:     "fail_fast cancels running nodes and skips the rest",
			parallel: 2,
			nodes:    []dag.Node{task("a"), task("b"), task("c", "a"), task("d", "c"), task("e")},
			first:    "a,b",
			steps: []step{
				{do: "fail a", state: run.Running},
				{do: "cancelled b"},
			},
			run: run.Failed, errMsg: `node "a" failed: boom`,
			states: map[string]run.NodeState{"a": run.NodeFailed, "b": run.NodeCancelled, "c": run.NodeSkipped, "d": run.NodeSkipped, "e": run.NodeSkipped},
			errors: map[string]string{
				"a": "boom", "b": `cancelled: node "a" failed: boom`,
				"c": `dependency "a" failed`, "d": `dependency "c" skipped`,
				"e": `not started: node "a" failed: boom`,
			},
		},
		{
			name:   "continue lets independent branches finish",
			policy: dag.Continue,
			nodes:  []dag.Node{task("a"), task("b"), task("c", "a"), task("d", "b")},
			first:  "a,b",
			steps: []step{
				{do: "fail a"},
				{do: "complete b", start: "d"},
				{do: "complete d"},
			},
			run: run.Failed, errMsg: "1 node(s) failed: a",
			states: map[string]run.NodeState{"a": run.NodeFailed, "b": run.NodeCompleted, "c": run.NodeSkipped, "d": run.NodeCompleted},
			errors: map[string]string{"c": `dependency "a" failed`},
		},
		{
			name:   "skips are transitive and name the first blocked dependency",
			policy: dag.Continue,
			nodes: []dag.Node{task("e", "d"), task("a"), task("b", "a"), task("c", "a"), task("d", "b", "c"),
				task("x"), task("y", "x", "c")},
			first: "a,x",
			steps: []step{
				{do: "complete x"},
				{do: "fail a"},
			},
			run: run.Failed, errMsg: "1 node(s) failed: a",
			states: map[string]run.NodeState{"a": run.NodeFailed, "b": run.NodeSkipped, "c": run.NodeSkipped, "d": run.NodeSkipped,
				"e": run.NodeSkipped, "x": run.NodeCompleted, "y": run.NodeSkipped},
			errors: map[string]string{"b": `dependency "a" failed`, "c": `dependency "a" failed`,
				"d": `dependency "b" skipped`, "e": `dependency "d" skipped`, "y": `dependency "c" skipped`},
		},
		{
			name:     "max_parallel caps running nodes, in order",
			parallel: 2,
			nodes:    []dag.Node{task("a"), task("b"), task("c"), task("d"), task("e")},
			first:    "a,b",
			steps: []step{
				{do: "complete b", start: "c"},
				{do: "complete a", start: "d"},
				{do: "complete c", start: "e"},
				{do: "complete d"},
				{do: "complete e"},
			},
			run:    run.Completed,
			states: map[string]run.NodeState{"a": run.NodeCompleted, "e": run.NodeCompleted},
		},
		{
			name:  "linear runs one at a time in declared order",
			mode:  dag.ModeLinear,
			nodes: []dag.Node{task("a"), task("b"), task("c", "a")},
			first: "a",
			steps: []step{
				{do: "complete a", start: "b"},
				{do: "complete b", start: "c"},
				{do: "complete c"},
			},
			run: run.Completed,
		},
		{
			name:  "dag_linear runs one at a time level by level",
			mode:  dag.ModeDAGLinear,
			nodes: []dag.Node{task("x", "y"), task("y"), task("z")},
			first: "y",
			steps: []step{
				{do: "complete y", start: "z"},
				{do: "complete z", start: "x"},
				{do: "complete x"},
			},
			run: run.Completed,
		},
		{
			name:  "pause holds new starts until resume",
			nodes: []dag.Node{task("a"), task("b", "a")},
			first: "a",
			steps: []step{
				{do: "pause", state: run.Paused},
				{do: "complete a", state: run.Paused},
				{do: "resume", start: "b", state: run.Running},
				{do: "complete b"},
			},
			run: run.Completed,
		},
		{
			name:  "approval waits for a decision",
			nodes: []dag.Node{task("build"), approvalGate("gate", "build"), task("deploy", "gate")},
			first: "build",
			steps: []step{
				{do: "complete build", start: "gate"},
				{do: "approve gate", start: "deploy"},
				{do: "complete deploy"},
			},
			run:    run.Completed,
			states: map[string]run.NodeState{"gate": run.NodeCompleted, "deploy": run.NodeCompleted},
		},
		{
			name:  "an early decision is kept until the gate waits",
			nodes: []dag.Node{task("build"), approvalGate("gate", "build"), task("deploy", "gate")},
			first: "build",
			steps: []step{
				{do: "reject gate"},
				{do: "approve gate"}, // the last decision before the gate waits wins
				{do: "complete build", start: "gate,deploy"},
				{do: "complete deploy"},
			},
			run:    run.Completed,
			states: map[string]run.NodeState{"gate": run.NodeCompleted},
		},
		{
			// The pass that started the gate goes on (as the loop before the
			// scheduler did, which recorded histories replay): other starts
			// and is cancelled; later passes start nothing.
			name:  "an early rejection fails the run as the gate starts",
			nodes: []dag.Node{task("build"), approvalGate("gate", "build"), task("deploy", "gate"), task("other", "build"), task("last", "other")},
			first: "build",
			steps: []step{
				{do: "reject gate"},
				{do: "complete build", start: "gate,other"},
				{do: "cancelled other"},
			},
			run: run.Failed, errMsg: `node "gate" failed: rejected by ana`,
			states: map[string]run.NodeState{"gate": run.NodeFailed, "deploy": run.NodeSkipped, "other": run.NodeCancelled, "last": run.NodeSkipped},
			errors: map[string]string{"gate": "rejected by ana", "deploy": `dependency "gate" failed`,
				"other": `cancelled: node "gate" failed: rejected by ana`, "last": `dependency "other" cancelled`},
		},
		{
			name:  "an approval timeout decides the gate",
			nodes: []dag.Node{approvalGate("gate"), task("deploy", "gate")},
			first: "gate",
			steps: []step{
				{do: "gate-timeout gate"},
			},
			run: run.Failed, errMsg: `node "gate" failed: rejected automatically: no decision within 1m0s`,
			states: map[string]run.NodeState{"gate": run.NodeFailed, "deploy": run.NodeSkipped},
		},
		{
			name:  "the run timeout cancels what runs",
			nodes: []dag.Node{task("a"), task("b", "a"), task("c"), approvalGate("gate")},
			first: "a,c,gate",
			steps: []step{
				{do: "complete c"},
				{do: "timeout", state: run.Running},
				{do: "cancel"}, // the first reason wins
				{do: "cancelled a"},
			},
			run: run.TimedOut, errMsg: "run timed out after 1h0m0s",
			states: map[string]run.NodeState{"a": run.NodeCancelled, "b": run.NodeSkipped, "c": run.NodeCompleted, "gate": run.NodeCancelled},
			errors: map[string]string{"a": "cancelled: run timed out after 1h0m0s", "b": `dependency "a" cancelled`,
				"gate": "cancelled: run timed out after 1h0m0s"},
		},
		{
			name:  "cancellation while a gate waits",
			nodes: []dag.Node{task("build"), approvalGate("gate"), task("deploy", "gate")},
			first: "build,gate",
			steps: []step{
				{do: "complete build"},
				{do: "cancel"},
			},
			run: run.Cancelled, errMsg: "run cancelled",
			states: map[string]run.NodeState{"build": run.NodeCompleted, "gate": run.NodeCancelled, "deploy": run.NodeSkipped},
			errors: map[string]string{"gate": "cancelled: run cancelled", "deploy": `dependency "gate" cancelled`},
		},
		{
			name:  "reused nodes are completed and not started",
			nodes: []dag.Node{task("a"), task("b", "a"), task("c", "b"), task("d")},
			reuse: []string{"a", "d"},
			first: "b",
			steps: []step{
				{do: "complete b", start: "c"},
				{do: "complete c"},
			},
			run:    run.Completed,
			states: map[string]run.NodeState{"a": run.NodeCompleted, "d": run.NodeCompleted},
		},
		{
			name:  "everything reused",
			nodes: []dag.Node{task("a"), task("b", "a")},
			reuse: []string{"a", "b"},
			run:   run.Completed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := dag.Pipeline{Name: "t", Mode: tt.mode, FailurePolicy: tt.policy, MaxParallel: tt.parallel, Nodes: tt.nodes}
			if p.Mode == "" {
				p.Mode = dag.ModeDAGParallel
			}
			require.NoError(t, p.Validate())
			in := run.Input{Pipeline: p}
			for _, id := range tt.reuse {
				if in.Reuse == nil {
					in.Reuse = map[string]run.NodeResult{}
				}
				in.Reuse[id] = run.NodeResult{Output: "old " + id, Attempt: 2}
			}
			s := newScheduler(in, nil)
			assert.Equal(t, tt.first, loop(t, s), "started first")
			for _, st := range tt.steps {
				require.False(t, s.done(), "done before %q", st.do)
				apply(t, s, st.do)
				assert.Equal(t, st.start, loop(t, s), "started after %q", st.do)
				if st.state != "" {
					assert.Equal(t, st.state, s.runState(), "after %q", st.do)
				}
			}
			require.True(t, s.done(), "done after the last step")
			assert.Equal(t, tt.run, s.finish())
			assert.Equal(t, tt.run, s.runState())
			assert.Equal(t, tt.errMsg, s.errMsg)
			checkInvariants(t, s)
			nodes, counts := s.nodeStates(len(s.nodes))
			for id, want := range tt.states {
				assert.Equal(t, want, nodes[s.index[id]].Status, "node %s", id)
			}
			for id, want := range tt.errors {
				assert.Equal(t, want, nodes[s.index[id]].Error, "node %s", id)
			}
			total := 0
			for _, n := range nodes {
				assert.True(t, n.Status.Terminal(), "node %s is %s", n.ID, n.Status)
				total += counts[n.Status]
				if slices.Contains(tt.reuse, n.ID) {
					assert.True(t, n.Reused)
					assert.Equal(t, "old "+n.ID, n.Output)
					assert.EqualValues(t, 2, n.Attempts)
				}
			}
			assert.Len(t, counts, len(run.NodeStates))
		})
	}
}

func TestStateIndexFollowsNodeStates(t *testing.T) {
	require.Len(t, run.NodeStates, numNodeStates)
	for k, st := range run.NodeStates {
		assert.Equal(t, k, stateIndex(st), st)
	}
	assert.Panics(t, func() { stateIndex("bogus") })
}

func TestSchedulerRefusesApprovals(t *testing.T) {
	p := dag.Pipeline{Name: "t", Mode: dag.ModeDAGParallel,
		Nodes: []dag.Node{task("build"), approvalGate("gate", "build"), approvalGate("done")}}
	s := newScheduler(run.Input{Pipeline: p}, nil)
	loop(t, s)
	_, _, err := s.receiveApproval(run.Approval{Node: "done", Approved: true}, t0)
	require.NoError(t, err)
	tests := []struct {
		a    run.Approval
		want string
	}{
		{run.Approval{Approved: true}, "node: is required"},
		{run.Approval{Node: "nope", Approved: true}, `node "nope": no such node`},
		{run.Approval{Node: "build", Approved: true}, `node "build": is not an approval node (kind noop)`},
		{run.Approval{Node: "done", Approved: true}, `node "done": already completed`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, _, err := s.receiveApproval(tt.a, t0)
			assert.EqualError(t, err, tt.want)
		})
	}
	assert.False(t, s.kept("gate"))
	_, decided, err := s.receiveApproval(run.Approval{Node: "gate", Approved: true}, t0)
	require.NoError(t, err)
	assert.False(t, decided, "the gate does not wait yet")
	assert.True(t, s.kept("gate"))
	s.stop(run.Cancelled, "run cancelled")
	assert.EqualError(t, s.checkApproval(run.Approval{Node: "gate", Approved: true}), `node "gate": the run is ending (cancelled)`)
}

func TestSchedulerReportsChanges(t *testing.T) {
	s := newScheduler(run.Input{Pipeline: dag.Pipeline{Name: "t", Mode: dag.ModeDAGParallel,
		Nodes: []dag.Node{task("a"), task("b")}}}, nil)
	assert.True(t, s.takeChanged(), "the first report")
	assert.False(t, s.takeChanged())
	loop(t, s)
	assert.True(t, s.takeChanged(), "nodes started")
	assert.Equal(t, []string{"a", "b"}, s.running(10))
	s.resume()
	assert.False(t, s.takeChanged(), "resuming a run that is not paused changes nothing")
	s.pause()
	assert.True(t, s.takeChanged())
	s.complete(0, run.NodeResult{}, t0)
	assert.True(t, s.takeChanged())
	assert.Equal(t, []string{"b"}, s.running(10))
	assert.Equal(t, 1, s.count(run.NodeCompleted))
}

// layered builds a pipeline of n nodes in layers of width w, each node
// depending on two nodes of the layer before.
func layered(n, w int) dag.Pipeline {
	p := dag.Pipeline{Name: "bench", Mode: dag.ModeDAGParallel, MaxParallel: w}
	for i := range n {
		d := task(fmt.Sprintf("n%d", i))
		if i >= w {
			layer := i/w*w - w
			d.DependsOn = []string{fmt.Sprintf("n%d", layer+i%w), fmt.Sprintf("n%d", layer+(i+1)%w)}
		}
		p.Nodes = append(p.Nodes, d)
	}
	return p
}

// BenchmarkSchedulerPerEvent measures the scheduler's work for one node
// completion: recording it, making dependents ready, starting the next
// nodes and taking the changed flag. It must not grow with the DAG's size.
func BenchmarkSchedulerPerEvent(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			// Pipelines are capped at dag.MaxNodes; the scheduler is not, and
			// 10,000 nodes show better whether the cost per event grows.
			in := run.Input{Pipeline: layered(n, 50)}
			if err := in.Pipeline.Validate(); n <= dag.MaxNodes && err != nil {
				b.Fatal(err)
			}
			res := run.NodeResult{Output: "done", Attempt: 1}
			var s *scheduler
			var running []int
			launch := func(i int, _ startKind) { running = append(running, i) }
			fresh := func() {
				s = newScheduler(in, nil)
				running = running[:0]
				s.startReady(t0, launch)
			}
			fresh()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if len(running) == 0 {
					b.StopTimer()
					fresh()
					b.StartTimer()
				}
				i := running[0]
				running = running[1:]
				s.complete(i, res, t0)
				s.startReady(t0, launch)
				s.takeChanged()
			}
		})
	}
}
