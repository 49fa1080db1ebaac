package runs

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// update sends a run the update name with arg and returns its result. The
// update's refusal (its validator, or the run's own check) wraps refused
// with the run's message; an unknown or closed run is what controlError
// says; what names the action in other errors.
func update[T any](ctx context.Context, s *Service, workflowID, name string, arg any, refused error, what string) (*T, error) {
	if err := checkLookupID("id", workflowID); err != nil {
		return nil, err
	}
	h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   name,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var res T
		if err = h.Get(ctx, &res); err == nil {
			return &res, nil
		}
	}
	var appErr *temporal.ApplicationError
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &appErr):
		return nil, fmt.Errorf("%w: %s", refused, appErr.Message())
	case errors.As(err, &nf):
		return nil, s.controlError(ctx, workflowID, err)
	}
	return nil, fmt.Errorf("%s of %s: %w", what, workflowID, err)
}
