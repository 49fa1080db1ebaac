package runs

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

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
	if err := checkLookupID("id", workflowID); err != nil {
		return nil, err
	}
	if err := d.Check(); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidRequest, err)
	}
	h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   workflows.ExtendBudgetName,
		Args:         []any{d},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var b run.Budget
		if err = h.Get(ctx, &b); err == nil {
			return &b, nil
		}
	}
	var appErr *temporal.ApplicationError
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &appErr):
		// The update's validator (or the run's loop) refused it.
		return nil, fmt.Errorf("%w: %s", ErrBudgetRefused, appErr.Message())
	case errors.As(err, &nf):
		return nil, s.controlError(ctx, workflowID, err)
	}
	return nil, fmt.Errorf("extend the budget of %s: %w", workflowID, err)
}
