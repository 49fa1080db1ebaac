package runs

import (
	"context"
	"errors"
	"fmt"

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
	if err := run.CheckText(a.Comment, a.By); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidRequest, err)
	}
	return update[run.NodeStatus](ctx, s, workflowID, workflows.ApproveName, a, ErrApprovalRefused, "approve node "+a.Node)
}
