package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/maestrohq/maestro/dag"
)

// attemptState is what a node's attempts hand on to the next one in their
// heartbeat details: how many of them failed by the executor's own report.
// Attempts lost to a worker crash (a heartbeat timeout) record nothing, so
// they do not count against the node's max_attempts; the workflow lets
// Temporal make that many more attempts (workflows.LostAttemptAllowance).
type attemptState struct {
	Failures int32 `json:"failures"`
}

type attemptStateKey struct{}

// withAttemptState returns ctx carrying the state the previous attempts left
// in their heartbeat details (none for the first attempt).
func withAttemptState(ctx context.Context) (context.Context, *attemptState) {
	st := &attemptState{}
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, st)
	}
	return context.WithValue(ctx, attemptStateKey{}, st), st
}

// recordHeartbeat heartbeats with the attempt state, so that a crash keeps
// what the earlier attempts counted.
func recordHeartbeat(ctx context.Context) {
	if st, ok := ctx.Value(attemptStateKey{}).(*attemptState); ok {
		activity.RecordHeartbeat(ctx, *st)
		return
	}
	activity.RecordHeartbeat(ctx)
}

// maxAttempts is how many failures the node's retry policy allows.
func maxAttempts(n dag.Node) int32 {
	if n.Retry != nil && n.Retry.MaxAttempts > 0 {
		return int32(n.Retry.MaxAttempts)
	}
	return dag.DefaultMaxAttempts
}
