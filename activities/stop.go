package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// ErrTypeWorkerStopped marks an attempt its worker cancelled while stopping
// gracefully (SIGTERM): retryable at once, on another worker, and not
// counted against the node's max_attempts.
const ErrTypeWorkerStopped = "WorkerStopped"

// workerStoppedRetryDelay is how soon an attempt its stopping worker
// cancelled runs again (on another worker).
const workerStoppedRetryDelay = time.Second

// errWorkerStopping is the cause of an attempt's context cancelled because
// its worker has been stopping for Config.StopTimeout.
var errWorkerStopping = errors.New("the worker is stopping")

// untilStopTimeout returns ctx cancelled, with cause errWorkerStopping, once
// the worker has been stopping (activity.GetWorkerStopChannel) for
// a.cfg.StopTimeout; the attempt then ends with its processes killed while
// the worker still waits for it, so its failure reaches Temporal. Without a
// StopTimeout the SDK's own WorkerStopTimeout alone cancels attempts.
func (a *Activities) untilStopTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if a.cfg.StopTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	stopping := activity.GetWorkerStopChannel(ctx)
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-stopping:
		}
		a.cfg.Logger.InfoContext(ctx, "worker stopping: the node may run for the stop timeout",
			"node", activity.GetInfo(ctx).ActivityID, "stop_timeout", a.cfg.StopTimeout)
		t := time.NewTimer(a.cfg.StopTimeout)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
			cancel(errWorkerStopping)
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// stoppedByWorker reports whether an attempt with context ctx was cancelled
// because its worker stopped: by the stop timeout (errWorkerStopping) or by
// the SDK once its WorkerStopTimeout passed (worker.ErrWorkerShutdown).
func stoppedByWorker(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return errors.Is(cause, errWorkerStopping) || errors.Is(cause, worker.ErrWorkerShutdown)
}

// workerStoppedError is the failure of an attempt its stopping worker
// cancelled: retryable after workerStoppedRetryDelay, by another worker.
func workerStoppedError() error {
	return temporal.NewApplicationErrorWithOptions(
		"the worker stopped before the node finished (graceful stop); the node runs again on another worker",
		ErrTypeWorkerStopped,
		temporal.ApplicationErrorOptions{NextRetryDelay: workerStoppedRetryDelay})
}
