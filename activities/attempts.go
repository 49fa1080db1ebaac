package activities

import (
	"context"
	"sync"

	"go.temporal.io/sdk/activity"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// attemptState is what a node's attempts hand on to the next one in their
// heartbeat details: how many of them failed by the executor's own report.
// Attempts lost to a worker crash (a heartbeat timeout) record nothing, so
// they do not count against the node's max_attempts; the workflow lets
// Temporal make that many more attempts (workflows.LostAttemptAllowance).
// The details also carry what the attempt is doing (Progress), which the
// status of a running run shows.
type attemptState struct {
	Failures int32         `json:"failures"`
	Progress *run.Progress `json:"progress,omitempty"`
}

// attempt guards an attempt's state: the executor updates its progress
// while heartbeat goroutines send it.
type attempt struct {
	mu sync.Mutex
	st attemptState
}

type attemptKey struct{}

// withAttemptState returns ctx carrying the state the previous attempts left
// in their heartbeat details (none for the first attempt).
func withAttemptState(ctx context.Context) (context.Context, *attempt) {
	at := &attempt{}
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &at.st)
	}
	at.st.Progress = nil // the previous attempt's, not this one's
	return context.WithValue(ctx, attemptKey{}, at), at
}

// failed counts a failure the executor reported and returns the count.
func (at *attempt) failed() int32 {
	at.mu.Lock()
	defer at.mu.Unlock()
	at.st.Failures++
	return at.st.Failures
}

// recordHeartbeat heartbeats with the attempt state, so that a crash keeps
// what the earlier attempts counted.
func recordHeartbeat(ctx context.Context) {
	if at, ok := ctx.Value(attemptKey{}).(*attempt); ok {
		at.mu.Lock()
		st := at.st
		at.mu.Unlock()
		activity.RecordHeartbeat(ctx, st)
		return
	}
	activity.RecordHeartbeat(ctx)
}

// reportProgress records what the attempt is doing and heartbeats it (the
// SDK sends at most one heartbeat a second; the last details win).
func reportProgress(ctx context.Context, p run.Progress) {
	if at, ok := ctx.Value(attemptKey{}).(*attempt); ok {
		at.mu.Lock()
		at.st.Progress = &p
		at.mu.Unlock()
	}
	recordHeartbeat(ctx)
}

// maxAttempts is how many failures the node's retry policy allows.
func maxAttempts(n dag.Node) int32 {
	if n.Retry != nil && n.Retry.MaxAttempts > 0 {
		return int32(n.Retry.MaxAttempts)
	}
	return dag.DefaultMaxAttempts
}
