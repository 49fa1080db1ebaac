package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// checkApproval says whether a decision can apply to the run now: the node
// exists, is an approval node and has not been decided.
func (s *scheduler) checkApproval(a run.Approval) error {
	i, ok := s.index[a.Node]
	switch {
	case a.Node == "":
		return errors.New("node: is required")
	case !ok:
		return fmt.Errorf("node %q: no such node", a.Node)
	case s.p.Nodes[i].Executor.Kind != dag.KindApproval:
		return fmt.Errorf("node %q: is not an approval node (kind %s)", a.Node, s.p.Nodes[i].Executor.Kind)
	case s.nodes[i].Status.Terminal():
		return fmt.Errorf("node %q: already %s", a.Node, s.nodes[i].Status)
	case s.stopping != "":
		return fmt.Errorf("node %q: the run is ending (%s)", a.Node, s.stopping)
	case s.state != run.Running:
		return fmt.Errorf("node %q: the run has ended (%s)", a.Node, s.state)
	}
	return nil
}

// receiveApproval applies a decision to a waiting approval node and returns
// its index, or keeps the decision of a node that does not wait yet (the
// last one kept applies when it starts) and returns false.
func (s *scheduler) receiveApproval(a run.Approval, now time.Time) (int, bool, error) {
	a.Comment = truncate(a.Comment, maxApprovalText)
	a.By = truncate(a.By, maxApprovalText)
	if err := s.checkApproval(a); err != nil {
		return -1, false, err
	}
	i := s.index[a.Node]
	if s.nodes[i].Status == run.NodeWaitingApproval {
		s.decide(i, a, now)
		return i, true, nil
	}
	if s.early == nil {
		s.early, s.earlyCount = map[int]run.Approval{}, map[int]int{}
	}
	s.early[i] = a
	s.earlyCount[i]++
	return i, false, nil
}

// maxEarlyDecisions bounds the decisions the approve update accepts for
// one approval node before it waits: each stays in the run's history.
const maxEarlyDecisions = 10

// earlyDecisionsLeft reports whether another decision for the node may be
// kept until it waits.
func (s *scheduler) earlyDecisionsLeft(node string) bool {
	i, ok := s.index[node]
	return !ok || s.earlyCount[i] < maxEarlyDecisions
}

// kept reports whether a decision for the node is kept until it waits.
func (s *scheduler) kept(node string) bool {
	i, ok := s.index[node]
	if !ok {
		return false
	}
	_, kept := s.early[i]
	return kept
}

// approvalTimedOut decides a waiting approval node whose timeout passed as
// its on_timeout says. It reports false when the node was decided already.
func (s *scheduler) approvalTimedOut(i int, after time.Duration, now time.Time) bool {
	if s.nodes[i].Status != run.NodeWaitingApproval {
		return false
	}
	spec, _ := dag.SpecOf[*dag.ApprovalSpec](s.p.Nodes[i].Executor)
	approve := spec != nil && spec.OnTimeout == dag.OnTimeoutApprove
	s.decide(i, run.Approval{Node: s.nodes[i].ID, Approved: approve, Timeout: true,
		Comment: fmt.Sprintf("no decision within %s", after)}, now)
	return true
}

// decide completes or fails a waiting approval node.
func (s *scheduler) decide(i int, a run.Approval, now time.Time) {
	st := &s.nodes[i]
	st.EndedAt = &now
	st.Approval = &a
	text := describeApproval(a)
	if a.Approved {
		res := run.NodeResult{Output: text, OutputBytes: len(text), Attempt: 1}
		s.results[i] = &res
		setOutput(st, res)
		s.info("approval granted", "node", st.ID, "by", a.By, "timeout", a.Timeout)
		s.set(i, run.NodeCompleted)
		return
	}
	st.Error = text
	st.ErrorType = ErrTypeApprovalRejected
	s.warn("approval rejected", "node", st.ID, "by", a.By, "timeout", a.Timeout)
	s.set(i, run.NodeFailed)
	if s.failFast {
		s.stop(run.Failed, fmt.Sprintf("node %q failed: %s", st.ID, text))
	}
}

// cancelWaiting ends every waiting approval node (and every node waiting
// for the budget) as cancelled, for a run
// that is stopping, and returns them in declared order.
func (s *scheduler) cancelWaiting(now time.Time) []int {
	var waiting []int
	for _, i := range s.active {
		if st := s.nodes[i].Status; st == run.NodeWaitingApproval || st == run.NodeWaitingBudget {
			waiting = append(waiting, i)
		}
	}
	for _, i := range waiting {
		st := &s.nodes[i]
		st.EndedAt = &now
		st.Error = "cancelled: " + s.errMsg
		s.set(i, run.NodeCancelled)
	}
	return waiting
}
