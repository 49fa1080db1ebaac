package workflows

import (
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// describeFailure turns an activity error into a message, an error type and
// the number of attempts made.
func describeFailure(err error, d dag.Node) (msg, errType string, attempts int32) {
	attempts = 1
	var actErr *temporal.ActivityError
	if errors.As(err, &actErr) && actErr.RetryState() == enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		attempts = dag.DefaultMaxAttempts
		if d.Retry != nil && d.Retry.MaxAttempts > 0 {
			attempts = int32(d.Retry.MaxAttempts)
		}
	}
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	switch {
	case errors.As(err, &appErr):
		var f run.Failure
		if appErr.HasDetails() && appErr.Details(&f) == nil && f.Attempt > 0 {
			attempts = f.Attempt
		}
		return appErr.Error(), appErr.Type(), attempts
	case errors.As(err, &timeoutErr):
		kind := strings.ToLower(strings.TrimPrefix(timeoutErr.TimeoutType().String(), "TIMEOUT_TYPE_"))
		return fmt.Sprintf("attempt timed out (%s)", strings.ReplaceAll(kind, "_", "-")), "Timeout", attempts
	case actErr != nil && errors.Unwrap(actErr) != nil:
		return errors.Unwrap(actErr).Error(), "", attempts
	default:
		return err.Error(), "", attempts
	}
}
