package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// noopExecutor runs noop nodes.
type noopExecutor struct{}

// Run runs a noop node's attempt.
func (noopExecutor) Run(ctx context.Context, a *Activities, in run.NodeInput) (run.NodeResult, error) {
	return a.runNoop(ctx, in, activity.GetInfo(ctx).Attempt)
}

// runNoop waits the executor's duration, heartbeating, then fails if this
// attempt is one of the first fail_attempts, else returns the fixed output.
// It is deterministic, for demos and tests of the engine.
func (a *Activities) runNoop(ctx context.Context, in run.NodeInput, attempt int32) (run.NodeResult, error) {
	e, err := specOf[*dag.NoopSpec](in)
	if err != nil {
		return run.NodeResult{}, err
	}
	d, err := e.Duration.Parse()
	if err != nil {
		return run.NodeResult{}, configError("executor.duration: %v", err)
	}
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		tick := time.NewTicker(heartbeatEvery(ctx))
		defer tick.Stop()
	wait:
		for {
			select {
			case <-ctx.Done():
				return run.NodeResult{}, ctx.Err()
			case <-timer.C:
				break wait
			case <-tick.C:
				recordHeartbeat(ctx)
			}
		}
	} else if err := ctx.Err(); err != nil {
		return run.NodeResult{}, err
	}
	if int64(attempt) <= int64(e.FailAttempts) {
		return run.NodeResult{}, &nodeError{
			typ: ErrTypeInjected,
			msg: fmt.Sprintf("injected failure on attempt %d of %d", attempt, e.FailAttempts),
		}
	}
	out := e.Output
	if out == "" {
		out = in.Node.ID + " done"
	}
	return a.output([]byte(out), len(out)), nil
}
