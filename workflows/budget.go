package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/maestrohq/maestro/run"
)

// ExtendBudgetName is the name of the update and of the signal that answer
// a run waiting for its budget: `{"add_usd": 5, "add_tokens": 100000}`
// raises it (the nodes waiting_budget start again once it is no longer
// reached), `{"reject": true, "comment": "..."}` fails the waiting nodes
// with BudgetExceeded. The update validates the decision and returns the
// run's budget and spend; the signal is fire-and-forget.
const ExtendBudgetName = "extend_budget"

// budgetLoop carries budget decisions from the update to the event loop.
type budgetLoop struct {
	ch workflow.Channel
	// sent and applied count the update's decisions; errs holds the error
	// of each that failed to apply, by number.
	sent, applied int
	errs          map[int]error
}

// budgetRequest is a decision as the update hands it to the loop.
type budgetRequest struct {
	Seq      int            `json:"seq"`
	Decision budgetDecision `json:"decision"`
}

// registerBudget sets the extend_budget update handler.
func (r *execution) registerBudget(ctx workflow.Context) error {
	r.bud = budgetLoop{ch: workflow.NewBufferedChannel(ctx, 10), errs: map[int]error{}}
	err := workflow.SetUpdateHandlerWithOptions(ctx, ExtendBudgetName, r.extendBudgetUpdate, workflow.UpdateHandlerOptions{
		Validator:   r.validateBudget,
		Description: "Extend the run's budget ({add_usd, add_tokens}) or reject ({reject, comment}); returns the budget and spend",
	})
	if err != nil {
		return fmt.Errorf("set the %s update handler: %w", ExtendBudgetName, err)
	}
	return nil
}

// validateBudget is the extend_budget update's validator: a refused
// decision is not recorded in the run's history. Bounds on what a decision
// carries are checked here only (not when a recorded decision is applied),
// so that runs that recorded one before a bound existed replay the same.
func (r *execution) validateBudget(d budgetDecision) error {
	if err := d.CheckBounds(); err != nil {
		return err
	}
	return r.s.checkBudget(d)
}

// extendBudgetUpdate hands the decision to the loop and returns the budget
// once the loop applied it.
func (r *execution) extendBudgetUpdate(ctx workflow.Context, d budgetDecision) (run.Budget, error) {
	r.bud.sent++
	seq := r.bud.sent
	r.bud.ch.Send(ctx, budgetRequest{Seq: seq, Decision: d})
	if err := workflow.Await(ctx, func() bool { return r.bud.applied >= seq || r.s.state != run.Running }); err != nil {
		return run.Budget{}, err
	}
	if err, ok := r.bud.errs[seq]; ok {
		delete(r.bud.errs, seq)
		return run.Budget{}, temporal.NewApplicationError(err.Error(), "BudgetRefused")
	}
	if r.bud.applied < seq {
		return run.Budget{}, temporal.NewApplicationError("the run ended before the decision applied", "BudgetRefused")
	}
	return *r.s.budgetStatus(), nil
}

// receiveBudget adds the extend_budget signal and the update's decisions
// to the loop's selector.
func (r *execution) receiveBudget(ctx workflow.Context, sel workflow.Selector) {
	sel.AddReceive(workflow.GetSignalChannel(ctx, ExtendBudgetName), func(c workflow.ReceiveChannel, _ bool) {
		var d budgetDecision
		c.Receive(ctx, &d)
		if err := r.s.decideBudget(d, workflow.Now(ctx)); err != nil {
			r.logger.Warn("budget decision ignored", "error", err)
		}
	})
	sel.AddReceive(r.bud.ch, func(c workflow.ReceiveChannel, _ bool) {
		var req budgetRequest
		c.Receive(ctx, &req)
		if err := r.s.decideBudget(req.Decision, workflow.Now(ctx)); err != nil {
			r.bud.errs[req.Seq] = err
		}
		r.bud.applied = req.Seq
	})
}

// resumeBudget starts a new activity for each node that waited for the
// budget, once it was extended.
func (r *execution) resumeBudget(ctx, nodesCtx workflow.Context, sel workflow.Selector) {
	for _, i := range r.s.resumeBudget(workflow.Now(ctx)) {
		r.startActivity(ctx, nodesCtx, sel, i)
	}
}

// budgetStopped puts node i, whose attempt the budget stopped, into
// waiting_budget, counting the usage its failure carries. It reports false
// when the failure is not the budget's, or the run has no budget.
func (r *execution) budgetStopped(i int, err error, errType, msg string) bool {
	if errType != run.ErrTypeBudgetExceeded {
		return false
	}
	var used *run.Usage
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() {
		var f run.Failure
		if appErr.Details(&f) == nil {
			used = f.Usage
		}
	}
	return r.s.budgetStopped(i, used, msg)
}

// budgetDetails is the budget's paragraph of the Web UI's details.
func (r *execution) budgetDetails(b *run.Budget) string {
	s := fmt.Sprintf("\n\nBudget: spent %d tokens, $%.4f", b.SpentTokens, b.SpentUSD)
	if b.Tokens > 0 {
		s += fmt.Sprintf("; limit %d tokens", b.Tokens)
	}
	if b.USD > 0 {
		s += fmt.Sprintf("; limit $%.2f", b.USD)
	}
	if n := r.s.count(run.NodeWaitingBudget); n > 0 {
		s += fmt.Sprintf(" — %d node(s) wait for it to be extended (%s update)", n, ExtendBudgetName)
	}
	return s
}
