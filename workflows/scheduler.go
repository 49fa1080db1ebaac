package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/log"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// startKind says what the workflow has to do for a node the scheduler
// started.
type startKind int

const (
	// startActivity: run the node's activity.
	startActivity startKind = iota
	// startWaiting: an approval node waits for a decision (and its timeout).
	startWaiting
	// startDecided: an approval node started with a decision that arrived
	// before it waited; it is already completed or failed.
	startDecided
	// startOverBudget: an agent node waits for the run's budget to be
	// extended (see scheduler_budget.go); nothing to do until then.
	startOverBudget
)

// scheduler is the run's decision maker, in plain Go: it knows nothing of
// Temporal. The workflow feeds it events (a node completed, failed or was
// cancelled, a decision arrived, the run was paused or must stop) and asks
// it what to start; it keeps every node's state, the counts per state and
// the set of running nodes, and set is the only place a node's state
// changes. The work per event is proportional to what the event changes: a
// completion looks only at the node's dependents, a failure walks only the
// nodes it skips, and nothing rescans the whole pipeline before finish.
type scheduler struct {
	p        dag.Pipeline
	limit    int  // how many nodes may be running or waiting at once
	failFast bool // the failure policy is fail_fast
	log      log.Logger

	nodes   []run.NodeStatus   // declared order: what clients see
	results []*run.NodeResult  // set when completed
	index   map[string]int     // node ID → declared index
	pos     []int              // declared index → position in p.Order
	deps    [][]int            // dependencies, as in DependsOn
	users   [][]int            // dependents
	missing []int              // dependencies not completed yet
	ready   readyQueue         // pending nodes with nothing missing
	active  []int              // running and waiting nodes, declared order
	counts  [numNodeStates]int // nodes per state, as in run.NodeStates
	skips   []int              // queue of nodes whose dependents set skips

	propagating bool  // skipDependents is walking skips
	inPass      bool  // startReady is starting nodes
	deferred    []int // nodes decided in the last pass, dependents not skipped yet
	finishing   bool  // finish is settling the final states

	paused bool
	// hold stops new starts while the run gets ready to continue as new
	// (see scheduler_carry.go); unlike paused, reports do not show it.
	hold     bool
	stopping run.State // "", run.Failed (fail_fast), run.TimedOut or run.Cancelled
	errMsg   string
	state    run.State // Running until finish
	// early holds decisions for approval nodes that are not waiting yet.
	early map[int]run.Approval
	// earlyCount counts the decisions kept for each approval node in this
	// part of the run (see maxEarlyDecisions).
	earlyCount map[int]int
	// full, when set, reports whether what this workflow task started
	// already is all it may start (see execution.taskFull); startReady
	// then leaves the rest ready.
	full func() bool
	// changed is set by every change to what a report shows; see
	// takeChanged.
	changed bool
	// headsOf caches the commits completed nodes leave in a workspace
	// run; see heads.
	headsOf [][]string
	// budget is the run's budget and spend; nil when it has none (see
	// scheduler_budget.go).
	budget *budgetState
	// version counts changes of nodes' states; changedAt holds each
	// node's last (see touch).
	version   int64
	changedAt []int64
}

const numNodeStates = 8

// stateIndex returns the index of a node state in run.NodeStates.
func stateIndex(state run.NodeState) int {
	switch state {
	case run.NodePending:
		return 0
	case run.NodeRunning:
		return 1
	case run.NodeWaitingApproval:
		return 2
	case run.NodeWaitingBudget:
		return 3
	case run.NodeCompleted:
		return 4
	case run.NodeFailed:
		return 5
	case run.NodeSkipped:
		return 6
	case run.NodeCancelled:
		return 7
	}
	panic(fmt.Sprintf("unknown node state %q", state))
}

// active reports whether a node in this state holds a parallelism slot.
func active(state run.NodeState) bool {
	return state == run.NodeRunning || state == run.NodeWaitingApproval || state == run.NodeWaitingBudget
}

// blocking reports whether a dependency in this state can never complete.
func blocking(state run.NodeState) bool {
	return state == run.NodeFailed || state == run.NodeSkipped || state == run.NodeCancelled
}

// newScheduler prepares a validated pipeline's run: nodes reused from an
// earlier run are completed, the others pending. logger may be nil.
func newScheduler(in run.Input, logger log.Logger) *scheduler {
	p := in.Pipeline
	if p.Mode == "" {
		p.Mode = dag.ModeDAGParallel
	}
	n := len(p.Nodes)
	s := &scheduler{
		p:         p,
		limit:     p.Parallelism(),
		failFast:  p.Policy() == dag.FailFast,
		log:       logger,
		nodes:     make([]run.NodeStatus, n),
		results:   make([]*run.NodeResult, n),
		index:     make(map[string]int, n),
		pos:       make([]int, n),
		deps:      make([][]int, n),
		users:     make([][]int, n),
		missing:   make([]int, n),
		changedAt: make([]int64, n),
		state:     run.Running,
		changed:   true,
		budget:    newBudgetState(p.Budget),
	}
	for i, d := range p.Nodes {
		s.index[d.ID] = i
		s.nodes[i] = run.NodeStatus{
			ID: d.ID, Name: d.DisplayName(), Phase: d.Phase, Executor: d.Executor.Kind,
			DependsOn: append([]string{}, d.DependsOn...), Status: run.NodePending,
		}
	}
	s.counts[stateIndex(run.NodePending)] = n
	for i, d := range p.Nodes {
		s.deps[i] = make([]int, len(d.DependsOn))
		for k, dep := range d.DependsOn {
			j := s.index[dep]
			s.deps[i][k] = j
			s.users[j] = append(s.users[j], i)
		}
		s.missing[i] = len(d.DependsOn)
	}
	for k, id := range p.Order(p.Mode) {
		s.pos[s.index[id]] = k
	}
	s.ready.pos = s.pos
	for i, d := range p.Nodes {
		res, ok := in.Reuse[d.ID]
		if !ok {
			continue
		}
		st := &s.nodes[i]
		st.Reused = true
		st.Attempts = res.Attempt
		setOutput(st, res)
		s.results[i] = &res
		s.set(i, run.NodeCompleted)
	}
	// Nodes whose dependencies were all reused are in the queue already.
	for i := range s.nodes {
		if len(s.deps[i]) == 0 && s.nodes[i].Status == run.NodePending {
			s.ready.push(i)
		}
	}
	return s
}

// set is the one place a node's state changes. It keeps the counts, the
// active set and the changed flag, makes dependents ready when a node
// completes, and skips the pending nodes that depend on a node that failed,
// was skipped or cancelled (transitively, through the dependents only).
func (s *scheduler) set(i int, state run.NodeState) {
	st := &s.nodes[i]
	old := st.Status
	if old == state {
		return
	}
	s.counts[stateIndex(old)]--
	s.counts[stateIndex(state)]++
	st.Status = state
	s.touch(i)
	switch {
	case active(state) && !active(old):
		k, _ := slices.BinarySearch(s.active, i)
		s.active = slices.Insert(s.active, k, i)
	case active(old) && !active(state):
		if k, ok := slices.BinarySearch(s.active, i); ok {
			s.active = slices.Delete(s.active, k, k+1)
		}
	}
	if s.finishing {
		return // pending nodes are skipped as not started, not as dependents
	}
	switch {
	case state == run.NodeCompleted:
		for _, u := range s.users[i] {
			s.missing[u]--
			if s.missing[u] == 0 && s.nodes[u].Status == run.NodePending {
				s.ready.push(u)
			}
		}
	case blocking(state):
		if s.inPass {
			// See startReady: a decision taken while starting skips its
			// dependents only on the next pass.
			s.deferred = append(s.deferred, i)
			return
		}
		s.skipDependents(i)
	}
}

// touch records that node i changed: the run's version grows, and the
// node's is the new one.
func (s *scheduler) touch(i int) {
	s.version++
	s.changedAt[i] = s.version
	s.changed = true
}

// skipDependents skips the pending nodes that depend, directly or not, on
// node i, which can no longer complete. It goes breadth first through the
// dependents only, so that the skipped nodes nearest the cause are marked
// first.
func (s *scheduler) skipDependents(i int) {
	s.skips = append(s.skips, i)
	if s.propagating {
		return // the outer call walks i's dependents
	}
	s.propagating = true
	for k := 0; k < len(s.skips); k++ {
		for _, u := range s.users[s.skips[k]] {
			if s.nodes[u].Status == run.NodePending {
				s.nodes[u].Error = s.blockedBy(u)
				s.set(u, run.NodeSkipped)
			}
		}
	}
	s.skips = s.skips[:0]
	s.propagating = false
}

// hasDeferred reports whether a decision taken during the last start pass
// has dependents still to skip.
func (s *scheduler) hasDeferred() bool { return len(s.deferred) > 0 }

// skipDeferred skips the dependents of the decisions taken during the last
// start pass.
func (s *scheduler) skipDeferred() {
	for _, i := range s.deferred {
		s.skipDependents(i)
	}
	s.deferred = s.deferred[:0]
}

// blockedBy says why pending node u is skipped: its first dependency, in
// DependsOn order, that can no longer complete.
func (s *scheduler) blockedBy(u int) string {
	for _, j := range s.deps[u] {
		if blocking(s.nodes[j].Status) {
			return fmt.Sprintf("dependency %q %s", s.nodes[j].ID, s.nodes[j].Status)
		}
	}
	return "a dependency can no longer complete"
}

// startReady starts ready nodes in the pipeline's order while the
// parallelism allows, unless the run is paused or stopping, and calls launch
// for each (in that order). An approval node with an early decision is
// decided at once, which may make its dependents ready in the same pass.
//
// Two things keep the commands of the loop this scheduler replaced, which
// running workflows replay. A pass that began goes on when an early
// rejection stops the run halfway (fail_fast): the nodes it starts are
// cancelled right away. And the dependents of a node rejected during a pass
// are skipped only at the start of the next one, unless the caller calls
// skipDeferred after the pass (the workflow does, for runs that record the
// version that fixed it: without it, a run under the continue policy whose
// last node was rejected early waited for its timeout).
func (s *scheduler) startReady(now time.Time, launch func(i int, kind startKind)) {
	s.skipDeferred()
	if s.stopping != "" || s.paused || s.hold {
		return
	}
	s.inPass = true
	for len(s.active) < s.limit && len(s.ready.items) > 0 && (s.full == nil || !s.full()) {
		i, ok := s.ready.pop()
		if !ok {
			break
		}
		if s.nodes[i].Status != run.NodePending {
			continue
		}
		launch(i, s.start(i, now))
	}
	s.inPass = false
}

// start marks pending node i started.
func (s *scheduler) start(i int, now time.Time) startKind {
	st := &s.nodes[i]
	st.StartedAt = &now
	st.Attempts = 1
	if s.overBudget(i) {
		s.set(i, run.NodeWaitingBudget)
		return startOverBudget
	}
	if !s.p.Nodes[i].Executor.Gate() {
		s.set(i, run.NodeRunning)
		return startActivity
	}
	s.set(i, run.NodeWaitingApproval)
	if a, ok := s.early[i]; ok {
		delete(s.early, i)
		s.decide(i, a, now)
		return startDecided
	}
	return startWaiting
}

// complete records a node's successful result.
func (s *scheduler) complete(i int, res run.NodeResult, now time.Time) {
	st := &s.nodes[i]
	st.EndedAt = &now
	st.Attempts = max(res.Attempt, 1)
	setOutput(st, res)
	s.results[i] = &res
	s.spend(res.Usage)
	s.set(i, run.NodeCompleted)
}

// fail records a node's failure and applies the failure policy.
func (s *scheduler) fail(i int, msg, errType string, attempts int32, now time.Time) {
	st := &s.nodes[i]
	st.EndedAt = &now
	st.Error, st.ErrorType, st.Attempts = msg, errType, attempts
	s.warn("node failed", "node", st.ID, "error", msg)
	s.set(i, run.NodeFailed)
	if s.failFast {
		s.stop(run.Failed, fmt.Sprintf("node %q failed: %s", st.ID, msg))
	}
}

// cancelled records that a running node's activity was cancelled.
func (s *scheduler) cancelled(i int, now time.Time) {
	st := &s.nodes[i]
	st.EndedAt = &now
	st.Error = "cancelled"
	if s.stopping != "" {
		st.Error = "cancelled: " + s.errMsg
	}
	s.set(i, run.NodeCancelled)
}

// stop records why the run is ending; the first reason wins. Nothing starts
// after it; the workflow cancels what runs.
func (s *scheduler) stop(reason run.State, msg string) {
	if s.stopping != "" {
		return
	}
	s.stopping, s.errMsg = reason, msg
	s.changed = true
	s.warn("run stopping", "reason", reason, "message", msg)
}

// pause stops new starts; running nodes go on.
func (s *scheduler) pause() {
	if !s.paused {
		s.info("run paused")
		s.changed = true
	}
	s.paused = true
}

// resume lets a paused run start nodes again.
func (s *scheduler) resume() {
	if s.paused {
		s.info("run resumed")
		s.changed = true
	}
	s.paused = false
}

// done reports whether the loop can end: nothing runs, and the run is
// stopping or every node is final.
func (s *scheduler) done() bool {
	if len(s.active) > 0 {
		return false
	}
	return s.stopping != "" || s.counts[stateIndex(run.NodePending)] == 0
}

// finish skips what never started and settles the run's final state and
// error message. It is the only call that looks at every node.
func (s *scheduler) finish() run.State {
	var failed []string
	s.finishing = true
	for i := range s.nodes {
		switch s.nodes[i].Status {
		case run.NodePending:
			s.nodes[i].Error = "not started: " + s.errMsg
			s.set(i, run.NodeSkipped)
		case run.NodeFailed:
			failed = append(failed, s.nodes[i].ID)
		}
	}
	switch {
	case s.stopping != "":
		s.state = s.stopping
	case len(failed) > 0:
		s.state = run.Failed
		s.errMsg = fmt.Sprintf("%d node(s) failed: %s", len(failed), strings.Join(failed, ", "))
	default:
		s.state = run.Completed
	}
	s.changed = true
	return s.state
}

// runState is the run's state as reports show it.
func (s *scheduler) runState() run.State {
	if s.state == run.Running && s.paused {
		return run.Paused
	}
	return s.state
}

// running returns the IDs of the first limit running nodes in declared
// order.
func (s *scheduler) running(limit int) []string {
	var ids []string
	for _, i := range s.active {
		if len(ids) == limit {
			break
		}
		if s.nodes[i].Status == run.NodeRunning {
			ids = append(ids, s.nodes[i].ID)
		}
	}
	return ids
}

// count returns the number of nodes in a state.
func (s *scheduler) count(state run.NodeState) int { return s.counts[stateIndex(state)] }

// takeChanged reports whether anything a report shows changed since the
// last call.
func (s *scheduler) takeChanged() bool {
	c := s.changed
	s.changed = false
	return c
}

// nodeStates returns a copy of the state of the first limit nodes (in
// declared order) and the counts per state.
func (s *scheduler) nodeStates(limit int) ([]run.NodeStatus, map[run.NodeState]int) {
	counts := make(map[run.NodeState]int, len(run.NodeStates))
	for _, st := range run.NodeStates {
		counts[st] = s.counts[stateIndex(st)]
	}
	return slices.Clone(s.nodes[:min(limit, len(s.nodes))]), counts
}

// page returns the page of nodes q asks for (q is well formed).
func (s *scheduler) page(q run.NodesQuery) run.NodesPage {
	var keep func(int) bool
	if q.Since > 0 {
		keep = func(i int) bool { return s.changedAt[i] > q.Since }
	}
	p := run.Page(s.nodes, q, keep)
	p.Version = s.version
	return p
}

// summary returns the IDs of the running, waiting and failed nodes, at most
// limit of each, in declared order. Running and waiting nodes come from the
// active set; failed ones need a scan, only when some failed.
func (s *scheduler) summary(limit int) (running, waiting, failed []string) {
	running = s.running(limit)
	for _, i := range s.active {
		if s.nodes[i].Status != run.NodeRunning && len(waiting) < limit {
			waiting = append(waiting, s.nodes[i].ID)
		}
	}
	for i := 0; i < len(s.nodes) && len(failed) < min(limit, s.count(run.NodeFailed)); i++ {
		if s.nodes[i].Status == run.NodeFailed {
			failed = append(failed, s.nodes[i].ID)
		}
	}
	return running, waiting, failed
}

// inputs returns the outputs of node i's dependencies by ID, and the
// artifacts of those reused from the retried run (filed under that run, so
// the activity needs their names to find the full output).
func (s *scheduler) inputs(i int) (outputs, artifacts map[string]string) {
	outputs = make(map[string]string, len(s.deps[i]))
	sizes := make([]int, len(s.deps[i]))
	for k, j := range s.deps[i] {
		sizes[k] = len(s.results[j].Output)
	}
	limits := shares(sizes, maxInputsBytes)
	for k, j := range s.deps[i] {
		id, res := s.nodes[j].ID, s.results[j]
		outputs[id] = activities.CutOutput(res.Output, limits[k])
		if s.nodes[j].Reused && res.Artifact != "" {
			if artifacts == nil {
				artifacts = map[string]string{}
			}
			artifacts[id] = res.Artifact
		}
	}
	return outputs, artifacts
}

// maxInputsBytes bounds the dependency outputs one node's input carries
// (70 dependencies of 40 KB each made an input over Temporal's 2 MB payload
// limit, and the run stuck): past it, the biggest outputs are cut (see
// shares) as a worker caps an output, so that the node's activity loads
// them whole from the artifact store. Each cut output also carries its
// ~45-byte marker.
const maxInputsBytes = 256 << 10

// shares splits budget among outputs of the given sizes: every output that
// fits in an equal share of what the smaller ones left keeps its size; the
// bigger ones share the rest equally.
func shares(sizes []int, budget int) []int {
	order := make([]int, len(sizes))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return sizes[a] - sizes[b] })
	limits := make([]int, len(sizes))
	for n, k := range order {
		fair := budget / (len(order) - n)
		limits[k] = min(sizes[k], fair)
		budget -= limits[k]
	}
	return limits
}

// node returns the state of node i.
func (s *scheduler) node(i int) run.NodeStatus { return s.nodes[i] }

func (s *scheduler) info(msg string, kv ...any) {
	if s.log != nil {
		s.log.Info(msg, kv...)
	}
}

func (s *scheduler) warn(msg string, kv ...any) {
	if s.log != nil {
		s.log.Warn(msg, kv...)
	}
}
