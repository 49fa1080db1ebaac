package activities

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// A stopping worker lets a running node go on for StopTimeout: a node that
// ends within it completes; one that does not is stopped (its process
// killed) and fails with a retryable WorkerStopped, retried a second later,
// which does not count as a failure of the node.
func TestWorkerStopTimeout(t *testing.T) {
	for _, tc := range []struct {
		name        string
		stopTimeout time.Duration
		argv        []string
		stopped     bool
	}{
		{"ends within the stop timeout", 5 * time.Second, []string{"sleep", "0.3"}, false},
		{"outlasts the stop timeout", 300 * time.Millisecond, []string{"sleep", "30"}, true},
		{"ignores SIGTERM and outlasts it", 300 * time.Millisecond, []string{"sh", "-c", `trap "" TERM; sleep 30`}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, withConfig(func(c *Config) { c.StopTimeout = tc.stopTimeout }))
			stopping := make(chan struct{})
			close(stopping) // the worker is stopping as the attempt starts
			h.env.SetWorkerStopChannel(stopping)
			start := time.Now()
			res, err := h.run(cmdNode(tc.argv...))
			took := time.Since(start)
			t.Logf("attempt ended %s after it started", took.Round(time.Millisecond))
			if !tc.stopped {
				require.NoError(t, err)
				assert.Equal(t, int32(1), res.Attempt)
				return
			}
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "%T: %v", err, err)
			assert.Equal(t, ErrTypeWorkerStopped, appErr.Type())
			assert.False(t, appErr.NonRetryable())
			assert.Equal(t, workerStoppedRetryDelay, appErr.NextRetryDelay())
			assert.Less(t, took, tc.stopTimeout+killGrace+5*time.Second, "the process is killed within its kill grace")
			assert.Contains(t, h.logs.String(), "it runs again on another worker")
		})
	}
}
