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

// ErrApprovalRefused marks a decision the run does not accept: the node does
// not exist, is not an approval node, or was decided already.
var ErrApprovalRefused = errors.New("approval refused")

// Approve approves or rejects an approval node through the run's approve
// update, and returns the node's state after the decision. A decision for an
// approval node that is not waiting yet is kept and applied when it starts.
func (s *Service) Approve(ctx context.Context, workflowID string, a run.Approval) (*run.NodeStatus, error) {
	if err := checkLookupID("id", workflowID); err != nil {
		return nil, err
	}
	h, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateName:   workflows.ApproveName,
		Args:         []any{a},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		var st run.NodeStatus
		if err = h.Get(ctx, &st); err == nil {
			return &st, nil
		}
	}
	var appErr *temporal.ApplicationError
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &appErr):
		// The update's validator rejected the decision.
		return nil, fmt.Errorf("%w: %s", ErrApprovalRefused, appErr.Message())
	case errors.As(err, &nf):
		return nil, s.controlError(ctx, workflowID, err)
	}
	return nil, fmt.Errorf("approve node %s of %s: %w", a.Node, workflowID, err)
}
