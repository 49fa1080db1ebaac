package workflows

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// rescan is the scheduling loop the scheduler replaced, kept as a test
// oracle: after every event it rescans all nodes for skips and ready nodes.
// Recorded histories replay only if the scheduler starts the same nodes in
// the same order, so TestSchedulerMatchesRescan compares the two on random
// pipelines and events.
type rescan struct {
	p        dag.Pipeline
	order    []int
	status   []run.NodeState
	index    map[string]int
	running  int
	limit    int
	paused   bool
	stopping run.State
	early    map[int]bool
}

func newRescan(in run.Input) *rescan {
	p := in.Pipeline
	o := &rescan{p: p, index: p.Index(), limit: p.Parallelism(), early: map[int]bool{}}
	for _, d := range p.Nodes {
		st := run.NodePending
		if _, ok := in.Reuse[d.ID]; ok {
			st = run.NodeCompleted
		}
		o.status = append(o.status, st)
	}
	for _, id := range p.Order(p.Mode) {
		o.order = append(o.order, o.index[id])
	}
	return o
}

func (o *rescan) stop(reason run.State) {
	if o.stopping == "" {
		o.stopping = reason
	}
}

func (o *rescan) end(i int, state run.NodeState) {
	o.running--
	o.status[i] = state
	if state == run.NodeFailed && o.p.Policy() == dag.FailFast {
		o.stop(run.Failed)
	}
}

func (o *rescan) approve(i int, approved bool) error {
	if !o.p.Nodes[i].Executor.Gate() || o.status[i].Terminal() || o.stopping != "" {
		return fmt.Errorf("refused")
	}
	if o.status[i] == run.NodeWaitingApproval {
		o.end(i, map[bool]run.NodeState{true: run.NodeCompleted, false: run.NodeFailed}[approved])
		return nil
	}
	o.early[i] = approved
	return nil
}

// propagate marks pending nodes whose dependencies can no longer complete.
func (o *rescan) propagate() {
	for changed := true; changed; {
		changed = false
		for i, d := range o.p.Nodes {
			if o.status[i] != run.NodePending {
				continue
			}
			for _, dep := range d.DependsOn {
				if blocking(o.status[o.index[dep]]) {
					o.status[i] = run.NodeSkipped
					changed = true
					break
				}
			}
		}
	}
}

// pass is one iteration of the old loop; it returns the nodes started. The
// scheduler is driven as the workflow drives it for runs without
// versionSkipAtOnce.
func (o *rescan) pass() []string {
	o.propagate()
	var started []string
	if o.stopping == "" && !o.paused {
		for _, i := range o.order {
			if o.running >= o.limit {
				break
			}
			ready := o.status[i] == run.NodePending
			for _, dep := range o.p.Nodes[i].DependsOn {
				ready = ready && o.status[o.index[dep]] == run.NodeCompleted
			}
			if !ready {
				continue
			}
			started = append(started, o.p.Nodes[i].ID)
			o.running++
			if !o.p.Nodes[i].Executor.Gate() {
				o.status[i] = run.NodeRunning
				continue
			}
			o.status[i] = run.NodeWaitingApproval
			if approved, ok := o.early[i]; ok {
				delete(o.early, i)
				o.end(i, map[bool]run.NodeState{true: run.NodeCompleted, false: run.NodeFailed}[approved])
			}
		}
	}
	if o.stopping != "" {
		cancelled := map[int]bool{}
		for i := range o.status {
			if o.status[i] == run.NodeWaitingApproval {
				o.running--
				o.status[i] = run.NodeCancelled
				cancelled[i] = true
			}
		}
		// The old loop skipped the dependents of cancelled approvals only
		// on its next pass (or as "not started" if the run ended first);
		// the scheduler skips them at once. Only their error differs.
		for changed := true; changed; {
			changed = false
			for i, d := range o.p.Nodes {
				if o.status[i] != run.NodePending {
					continue
				}
				for _, dep := range d.DependsOn {
					if cancelled[o.index[dep]] {
						o.status[i] = run.NodeSkipped
						cancelled[i] = true
						changed = true
						break
					}
				}
			}
		}
	}
	return started
}

func (o *rescan) done() bool {
	if o.running > 0 {
		return false
	}
	return o.stopping != "" || !slices.ContainsFunc(o.status, func(s run.NodeState) bool { return !s.Terminal() })
}

func randomInput(rng *rand.Rand) run.Input {
	n := 1 + rng.IntN(25)
	modes := []dag.Mode{dag.ModeLinear, dag.ModeDAGLinear, dag.ModeDAGParallel, dag.ModeDAGParallel}
	p := dag.Pipeline{Name: "r", Mode: modes[rng.IntN(len(modes))], MaxParallel: rng.IntN(5)}
	if rng.IntN(2) == 0 {
		p.FailurePolicy = dag.Continue
	}
	in := run.Input{Reuse: map[string]run.NodeResult{}}
	for i := range n {
		d := task(fmt.Sprintf("n%d", i))
		if rng.IntN(5) == 0 {
			d.Executor = dag.NewExecutor(&dag.ApprovalSpec{})
		}
		for j := range i {
			if rng.IntN(4) == 0 {
				d.DependsOn = append(d.DependsOn, fmt.Sprintf("n%d", j))
			}
		}
		// A node may be reused when everything it depends on is.
		reusable := d.Executor.Kind == dag.KindNoop
		for _, dep := range d.DependsOn {
			_, ok := in.Reuse[dep]
			reusable = reusable && ok
		}
		if reusable && rng.IntN(4) == 0 {
			in.Reuse[d.ID] = run.NodeResult{Output: "old", Attempt: 1}
		}
		// Declare some nodes out of order for the DAG modes.
		if p.Mode != dag.ModeLinear && rng.IntN(3) == 0 {
			p.Nodes = append([]dag.Node{d}, p.Nodes...)
		} else {
			p.Nodes = append(p.Nodes, d)
		}
	}
	in.Pipeline = p
	return in
}

func TestSchedulerMatchesRescan(t *testing.T) {
	for seed := range uint64(2000) {
		rng := rand.New(rand.NewPCG(seed, 7))
		in := randomInput(rng)
		require.NoError(t, in.Pipeline.Validate(), "seed %d", seed)
		s, o := newScheduler(in, nil), newRescan(in)
		var started []string
		launch := func(i int, _ startKind) { started = append(started, s.nodes[i].ID) }
		step := func(event string) {
			started = nil
			s.startReady(t0, launch)
			if s.stopping != "" {
				s.cancelWaiting(t0)
			}
			want := o.pass()
			require.Equal(t, want, started, "seed %d: started after %s", seed, event)
			for i := range s.nodes {
				require.Equal(t, o.status[i], s.nodes[i].Status, "seed %d: node %s after %s", seed, s.nodes[i].ID, event)
			}
			require.Equal(t, o.done(), s.done(), "seed %d: done after %s", seed, event)
			checkInvariants(t, s)
		}
		step("start")
		for events := 0; !s.done(); events++ {
			require.Less(t, events, 500, "seed %d: the run does not end", seed)
			var running, waiting, gates []int
			for i, st := range s.nodes {
				switch {
				case st.Status == run.NodeRunning:
					running = append(running, i)
				case st.Status == run.NodeWaitingApproval:
					waiting = append(waiting, i)
				}
				if s.p.Nodes[i].Executor.Kind == dag.KindApproval {
					gates = append(gates, i)
				}
			}
			var event string
			switch r := rng.IntN(100); {
			case r < 3:
				event = "timeout"
				s.stop(run.TimedOut, "run timed out")
				o.stop(run.TimedOut)
			case r < 10:
				event = "pause"
				s.pause()
				o.paused = true
			case r < 25 || (len(running) == 0 && len(waiting) == 0 && len(gates) == 0):
				event = "resume"
				s.resume()
				o.paused = false
			case r < 45 && len(gates) > 0:
				i := gates[rng.IntN(len(gates))]
				approved := rng.IntN(3) > 0
				event = fmt.Sprintf("decision %v on %s", approved, s.nodes[i].ID)
				_, _, err := s.receiveApproval(run.Approval{Node: s.nodes[i].ID, Approved: approved}, t0)
				require.Equal(t, o.approve(i, approved) == nil, err == nil, "seed %d: %s: %v", seed, event, err)
			case r < 50 && len(waiting) > 0:
				i := waiting[rng.IntN(len(waiting))]
				event = "approval timeout on " + s.nodes[i].ID
				s.approvalTimedOut(i, 0, t0)
				o.end(i, run.NodeFailed)
			case len(running) > 0:
				i := running[rng.IntN(len(running))]
				switch r := rng.IntN(10); {
				case s.stopping != "" && r < 5:
					event = "cancelled " + s.nodes[i].ID
					s.cancelled(i, t0)
					o.end(i, run.NodeCancelled)
				case r < 2:
					event = "fail " + s.nodes[i].ID
					s.fail(i, "boom", "", 1, t0)
					o.end(i, run.NodeFailed)
				default:
					event = "complete " + s.nodes[i].ID
					s.complete(i, run.NodeResult{Attempt: 1}, t0)
					o.end(i, run.NodeCompleted)
				}
			default:
				event = "resume"
				s.resume()
				o.paused = false
			}
			step(event)
		}
		s.finish()
		for _, st := range s.nodes {
			require.True(t, st.Status.Terminal(), "seed %d: node %s", seed, st.ID)
		}
	}
}
