package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/maestrohq/maestro/dag"
)

// LostAttemptAllowance is how many attempts beyond a node's max_attempts
// Temporal may make: attempts lost to a worker crash (a heartbeat timeout)
// do not count against max_attempts — the activity counts the failures its
// executor reports and stops retrying at max_attempts of them — but they
// are bounded all the same.
const LostAttemptAllowance = 10

// activityOptions are the options of node d's activity in pipeline p;
// LostAttemptAllowance attempts are allowed beyond the node's max_attempts.
func activityOptions(p dag.Pipeline, d dag.Node) workflow.ActivityOptions {
	rp := retryPolicy(d.Retry)
	rp.MaximumAttempts += LostAttemptAllowance
	return workflow.ActivityOptions{
		ActivityID:          d.ID,
		StartToCloseTimeout: d.Timeout.Or(p.RunTimeout()),
		HeartbeatTimeout:    d.HeartbeatTimeout.Or(dag.DefaultHeartbeatTimeout),
		WaitForCancellation: true,
		RetryPolicy:         rp,
		Summary:             summary(d),
	}
}

// retryPolicy maps a node's retry settings onto Temporal's, with Maestro's
// defaults for what the node leaves out.
func retryPolicy(rp *dag.Retry) *temporal.RetryPolicy {
	retry := &temporal.RetryPolicy{
		InitialInterval:    dag.DefaultInitialInterval,
		BackoffCoefficient: dag.DefaultBackoff,
		MaximumInterval:    dag.DefaultMaxInterval,
		MaximumAttempts:    dag.DefaultMaxAttempts,
	}
	if rp != nil {
		retry.InitialInterval = rp.InitialInterval.Or(retry.InitialInterval)
		retry.MaximumInterval = rp.MaxInterval.Or(retry.MaximumInterval)
		if rp.Backoff >= 1 {
			retry.BackoffCoefficient = rp.Backoff
		}
		if rp.MaxAttempts > 0 {
			retry.MaximumAttempts = int32(rp.MaxAttempts)
		}
		retry.NonRetryableErrorTypes = rp.NonRetryable
	}
	retry.MaximumInterval = max(retry.MaximumInterval, retry.InitialInterval)
	return retry
}

// summary is the activity's summary in the Web UI: the node's name, its
// phase if it has one, and its kind. A standalone node (noop) with neither
// name nor phase has none: its activity ID is its node ID, and the bytes
// add up in history over thousands of nodes.
func summary(d dag.Node) string {
	if d.Name == "" && d.Phase == "" && d.Executor.Standalone() {
		return ""
	}
	if d.Phase == "" {
		return fmt.Sprintf("%s [%s]", d.DisplayName(), d.Executor.Kind)
	}
	return fmt.Sprintf("%s [%s, %s]", d.DisplayName(), d.Phase, d.Executor.Kind)
}
