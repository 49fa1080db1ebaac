package runs

import (
	"context"
	"errors"
	"fmt"

	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/workflows"
)

// ErrBudgetRefused marks a budget decision the run does not accept: it has
// no budget, is ending, or no node waits for the budget to reject.
var ErrBudgetRefused = errors.New("budget decision refused")

// ExtendBudget raises a run's budget, or rejects the extension (the nodes
// waiting for it fail with BudgetExceeded), through the run's
// extend_budget update, and returns the budget and spend after it. A
// malformed decision (amounts not positive, both amounts and a rejection)
// wraps ErrInvalidRequest.
func (s *Service) ExtendBudget(ctx context.Context, workflowID string, d run.BudgetDecision) (*run.Budget, error) {
	if err := d.CheckBounds(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidRequest, err)
	}
	return update[run.Budget](ctx, s, workflowID, workflows.ExtendBudgetName, d, ErrBudgetRefused, "extend the budget")
}
