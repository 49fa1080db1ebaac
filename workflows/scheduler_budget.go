package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// budgetState is a run's budget and what it spent so far: the usage of
// completed nodes and of the attempts the budget stopped (whose failures
// carry it). Reused nodes spent in the run they come from and do not
// count.
type budgetState struct {
	run.Budget
	// stopped says the budget stopped an attempt since it was last
	// extended: what is left is not enough for it, so agents wait even
	// though the spend is below the limit.
	stopped bool
}

// exhausted reports whether agents must wait: the spend reached the
// budget, or what is left stopped an attempt.
func (b *budgetState) exhausted() bool { return b.stopped || b.Reached() }

// newBudgetState returns the state of a pipeline's budget, nil when it has
// none.
func newBudgetState(b *dag.Budget) *budgetState {
	if !b.Set() {
		return nil
	}
	return &budgetState{Budget: run.Budget{Tokens: b.Tokens, USD: b.USD}}
}

// budgetDecision is a person's answer to a run waiting for its budget.
type budgetDecision = run.BudgetDecision

// spend counts a node's usage against the budget.
func (s *scheduler) spend(u *run.Usage) {
	if s.budget == nil || u == nil {
		return
	}
	s.budget.SpentTokens += u.Tokens()
	s.budget.SpentUSD += u.CostUSD
	s.budget.CostUnknown = s.budget.CostUnknown || u.CostUnknown
	s.changed = true
}

// overBudget reports whether node i is an agent node that must wait
// before it starts: the run's spend reached its budget, or the budget
// stopped an attempt since it was last extended.
func (s *scheduler) overBudget(i int) bool {
	return s.budget != nil && s.p.Nodes[i].Executor.Kind == dag.KindAgent && s.budget.exhausted()
}

// remaining is what is left of the budget for node i's attempt: nil for a
// run without a budget or a node that is not an agent.
func (s *scheduler) remaining(i int) *run.Remaining {
	if s.budget == nil || s.p.Nodes[i].Executor.Kind != dag.KindAgent {
		return nil
	}
	return s.budget.Remaining()
}

// budgetStatus is a copy of the budget and spend, nil without a budget.
func (s *scheduler) budgetStatus() *run.Budget {
	if s.budget == nil {
		return nil
	}
	b := s.budget.Budget
	return &b
}

// budgetStopped records that the budget stopped running node i's attempt:
// its usage counts, and the node waits for the budget to be extended. It
// reports false (the node fails as usual) in a run without a budget.
func (s *scheduler) budgetStopped(i int, used *run.Usage, msg string) bool {
	if s.budget == nil || s.nodes[i].Status != run.NodeRunning {
		return false
	}
	s.spend(used)
	s.budget.stopped = true
	st := &s.nodes[i]
	st.LastError = msg
	s.warn("node waits for the budget", "node", st.ID, "reason", msg)
	s.set(i, run.NodeWaitingBudget)
	return true
}

// checkBudget says whether a decision on the budget can apply now.
func (s *scheduler) checkBudget(d budgetDecision) error {
	if err := d.Check(); err != nil {
		return err
	}
	switch {
	case s.budget == nil:
		return errors.New("the run has no budget")
	case s.stopping != "":
		return fmt.Errorf("the run is ending (%s)", s.stopping)
	case s.state != run.Running:
		return fmt.Errorf("the run has ended (%s)", s.state)
	case !d.Reject && (s.budget.Tokens == 0 || d.AddTokens == 0) && (s.budget.USD == 0 || d.AddUSD == 0):
		return fmt.Errorf("the run's budget limits %s: add to it", s.budget.limits())
	case d.Reject && s.count(run.NodeWaitingBudget) == 0:
		return errors.New("no node waits for the budget: nothing to reject")
	}
	return nil
}

// decideBudget applies a decision: amounts raise the budget (waiting
// nodes start again on the next pass, see resumeBudget, if it is no longer
// reached); a rejection fails every waiting node with BudgetExceeded, and
// the failure policy applies.
func (s *scheduler) decideBudget(d budgetDecision, now time.Time) error {
	if err := s.checkBudget(d); err != nil {
		return err
	}
	d.Comment = truncate(d.Comment, maxApprovalText)
	d.By = truncate(d.By, maxApprovalText)
	if !d.Reject {
		// A kind without a limit stays unlimited (checkBudget refuses a
		// decision that adds to no limit).
		if s.budget.Tokens > 0 {
			s.budget.Tokens += d.AddTokens
		}
		if s.budget.USD > 0 {
			s.budget.USD += d.AddUSD
		}
		s.budget.stopped = false
		s.changed = true
		s.info("budget extended", "tokens", s.budget.Tokens, "usd", s.budget.USD, "by", d.By)
		return nil
	}
	msg := "budget extension rejected"
	if d.By != "" {
		msg += " by " + d.By
	}
	if d.Comment != "" {
		msg += ": " + d.Comment
	}
	var waiting []int
	for _, i := range s.active {
		if s.nodes[i].Status == run.NodeWaitingBudget {
			waiting = append(waiting, i)
		}
	}
	for _, i := range waiting {
		s.fail(i, msg, run.ErrTypeBudgetExceeded, s.nodes[i].Attempts, now)
	}
	return nil
}

// resumeBudget starts again the nodes waiting for the budget, in declared
// order, once it is no longer reached (and the run is neither paused nor
// stopping), and returns them: each runs a new attempt from its start.
func (s *scheduler) resumeBudget(now time.Time) []int {
	if s.budget == nil || s.count(run.NodeWaitingBudget) == 0 || s.paused || s.stopping != "" || s.budget.exhausted() {
		return nil
	}
	var resumed []int
	for _, i := range s.active {
		if s.nodes[i].Status == run.NodeWaitingBudget {
			resumed = append(resumed, i)
		}
	}
	for _, i := range resumed {
		st := &s.nodes[i]
		if st.StartedAt == nil {
			st.StartedAt = &now
		}
		s.set(i, run.NodeRunning)
	}
	return resumed
}

// limits names the kinds the budget limits.
func (b *budgetState) limits() string {
	switch {
	case b.Tokens > 0 && b.USD > 0:
		return "tokens and usd"
	case b.Tokens > 0:
		return "tokens only (add_tokens)"
	}
	return "usd only (add_usd)"
}
