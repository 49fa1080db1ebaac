package workflows

import (
	"maps"
	"slices"

	"github.com/maestrohq/maestro/run"
)

// Continuing as new, the scheduler's side (see carry.go for the
// workflow's): a long run's history is cut in parts. The scheduler holds
// new starts while the running nodes finish, then hands over the state of
// every node that left pending, and the next part's scheduler restores it.

// canCarry reports whether the run can stop starting nodes to continue as
// new: it is not stopping, nodes are still pending, and every active node
// is a running activity (a waiting approval or budget could hold the run
// for days, so the run goes on in this part instead).
func (s *scheduler) canCarry() bool {
	if s.stopping != "" || s.count(run.NodePending) == 0 {
		return false
	}
	for _, i := range s.active {
		if s.nodes[i].Status != run.NodeRunning {
			return false
		}
	}
	return true
}

// carried returns the state of every node that left pending, in declared
// order. A completed node's output is kept while a dependent has not
// completed (it is that dependent's input, now or in a retry).
func (s *scheduler) carried() []run.CarriedNode {
	var out []run.CarriedNode
	for i := range s.nodes {
		st := &s.nodes[i]
		if st.Status == run.NodePending {
			continue
		}
		c := run.CarriedNode{
			Index: i, State: st.Status, Attempts: st.Attempts,
			StartedAt: run.Millis(st.StartedAt), EndedAt: run.Millis(st.EndedAt),
			Error: st.Error, ErrorType: st.ErrorType, Reused: st.Reused,
			Usage: st.Usage, Approval: st.Approval, Commit: st.Commit, Repairs: st.Repairs,
			Bytes: st.OutputBytes, Truncated: st.OutputTruncated, Version: s.changedAt[i],
		}
		if res := s.results[i]; res != nil {
			c.Artifact, c.Simulated, c.ExitCode = res.Artifact, res.Simulated, res.ExitCode
			c.Bytes, c.Truncated = res.OutputBytes, res.Truncated
			for _, u := range s.users[i] {
				if s.nodes[u].Status != run.NodeCompleted {
					c.Output = res.Output
					break
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// restore applies the states an earlier part carried, in declared order,
// through set (so counts, readiness and skips follow), before the run
// starts anything.
func (s *scheduler) restore(c *run.Carried) {
	s.paused = c.Paused
	s.version = c.Version
	for _, a := range c.Early {
		if i, ok := s.index[a.Node]; ok {
			if s.early == nil {
				s.early = map[int]run.Approval{}
			}
			s.early[i] = a
		}
	}
	if c.Budget != nil && s.budget != nil {
		s.budget.Budget, s.budget.stopped = *c.Budget, c.BudgetStopped
	}
	for _, cn := range c.Nodes {
		i := cn.Index
		if i < 0 || i >= len(s.nodes) || !cn.State.Terminal() || s.nodes[i].Status == run.NodeCompleted {
			continue
		}
		st := &s.nodes[i]
		st.Attempts, st.StartedAt, st.EndedAt = cn.Attempts, run.FromMillis(cn.StartedAt), run.FromMillis(cn.EndedAt)
		st.Error, st.ErrorType, st.Reused = cn.Error, cn.ErrorType, cn.Reused
		st.Approval, st.Repairs = cn.Approval, slices.Clone(cn.Repairs)
		if cn.State == run.NodeCompleted {
			res := cn.Result()
			setOutput(st, res)
			s.results[i] = &res
		}
		s.set(i, cn.State)
	}
	// set counted the restored changes as new ones: put back the versions
	// they had, so that a watch reading since an earlier version sees each
	// change once.
	for _, cn := range c.Nodes {
		if cn.Index >= 0 && cn.Index < len(s.nodes) {
			s.changedAt[cn.Index] = cn.Version
		}
	}
	s.version = c.Version
	// Pending roots were queued when the scheduler was made; nodes whose
	// dependencies all completed were queued by set.
}

// carryState returns the run-level state the scheduler carries.
func (s *scheduler) carryState(c *run.Carried) {
	c.Paused = s.paused
	for _, i := range slices.Sorted(maps.Keys(s.early)) {
		c.Early = append(c.Early, s.early[i])
	}
	if s.budget != nil {
		b := s.budget.Budget
		c.Budget, c.BudgetStopped = &b, s.budget.stopped
	}
	c.Version = s.version
	c.Nodes = s.carried()
}

// InitialNodes returns the nodes of a run as its workflow holds them
// before its first node starts: pending, the nodes reused from the run it
// retries completed, and the nodes an earlier part carried (c, nil for a
// first part) in their state. The status of a run that closed before its
// workflow could say more is built from them.
func InitialNodes(in run.Input, c *run.Carried) []run.NodeStatus {
	s := newScheduler(in, nil)
	if c != nil {
		s.restore(c)
	}
	return s.nodes
}
