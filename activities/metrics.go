package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
)

// Metrics the node activity records through the SDK's metrics handler
// (activity.GetMetricsHandler), tagged with the node's phase ("custom" when
// it has none), its executor kind and the attempt's outcome (one of the
// Outcome constants). With the OpenTelemetry Prometheus exporter (package
// metrics) they appear as maestro_node_duration_seconds and
// maestro_node_attempts_total.
const (
	// MetricNodeDuration is a timer: how long each attempt took.
	MetricNodeDuration = "maestro_node_duration"
	// MetricNodeAttempts is a counter of attempts.
	MetricNodeAttempts = "maestro_node_attempts"
)

// Tags and values of the node metrics.
const (
	TagPhase    = "phase"
	TagExecutor = "executor"
	TagOutcome  = "outcome"

	OutcomeCompleted = "completed" // the attempt succeeded
	OutcomeFailed    = "failed"    // the attempt failed (it may be retried)
	OutcomeCancelled = "cancelled" // the node was cancelled
	OutcomeTimedOut  = "timed_out" // the attempt ran out of time
)

// recordAttempt records one attempt's duration and outcome; err is what the
// executor returned and ctxErr the context's error after it returned.
func recordAttempt(ctx context.Context, phase, kind string, elapsed time.Duration, err, ctxErr error) {
	outcome := OutcomeCompleted
	switch {
	case err == nil:
	case errors.Is(ctxErr, context.DeadlineExceeded):
		outcome = OutcomeTimedOut
	case ctxErr != nil:
		outcome = OutcomeCancelled
	default:
		outcome = OutcomeFailed
	}
	if phase == "" {
		phase = "custom"
	}
	h := activity.GetMetricsHandler(ctx).WithTags(map[string]string{
		TagPhase:    phase,
		TagExecutor: kind,
		TagOutcome:  outcome,
	})
	h.Timer(MetricNodeDuration).Record(elapsed)
	h.Counter(MetricNodeAttempts).Inc(1)
}
