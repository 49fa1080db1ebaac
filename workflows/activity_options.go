package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/maestrohq/maestro/dag"
)

// activityOptions are the options of node d's activity in pipeline p.
func activityOptions(p dag.Pipeline, d dag.Node) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		ActivityID:          d.ID,
		StartToCloseTimeout: d.Timeout.Or(p.RunTimeout()),
		HeartbeatTimeout:    d.HeartbeatTimeout.Or(dag.DefaultHeartbeatTimeout),
		WaitForCancellation: true,
		RetryPolicy:         retryPolicy(d.Retry),
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

// summary is the activity's summary in the Web UI.
func summary(d dag.Node) string {
	phase := d.Phase
	if phase == "" {
		phase = "custom"
	}
	return fmt.Sprintf("%s [%s, %s]", d.DisplayName(), phase, d.Executor.Kind)
}
