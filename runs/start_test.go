package runs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"

	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
	"github.com/maestrohq/maestro/workflows"
)

// Start with the ID of an existing run: the same request replays it, another
// is ErrIdempotencyConflict, and a run started before request hashes existed
// (no hash in its memo) counts as the same request. No worker is needed:
// nothing here waits for a run to progress.
func TestStartWithAnExistingID(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := runs.EnsureSearchAttributes(ctx, c, ts.GetDefaultNamespace())
	require.NoError(t, err)
	svc := runs.New(c, runs.Config{TaskQueue: "no-worker"})

	req := runs.StartRequest{ID: "same-id", Template: templates.SDLCLinear, Requirement: "x"}
	first, err := svc.Start(ctx, req)
	require.NoError(t, err)
	assert.False(t, first.Existing)
	assert.Equal(t, run.Running, first.Status)

	for _, tc := range []struct {
		name     string
		req      runs.StartRequest
		conflict bool
	}{
		{"same request", req, false},
		{"same request, as workflow_type", runs.StartRequest{ID: "same-id", WorkflowType: "linear", Requirement: "x"}, false},
		{"another requirement", runs.StartRequest{ID: "same-id", Template: templates.SDLCLinear, Requirement: "y"}, true},
		{"another template", runs.StartRequest{ID: "same-id", Template: templates.SDLCParallel, Requirement: "x"}, true},
		{"another override", runs.StartRequest{ID: "same-id", Template: templates.SDLCLinear, Requirement: "x", MaxParallel: 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			again, err := svc.Start(ctx, tc.req)
			if tc.conflict {
				assert.ErrorIs(t, err, runs.ErrIdempotencyConflict)
				return
			}
			require.NoError(t, err)
			assert.True(t, again.Existing)
			assert.Equal(t, first.RunID, again.RunID)
			assert.Equal(t, run.Running, again.Status)
		})
	}

	// A run from before the hash: any request with its ID replays it.
	old, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "old-run", TaskQueue: "no-worker",
		Memo: map[string]any{"pipeline": "sdlc-linear"}}, workflows.WorkflowName, run.Input{})
	require.NoError(t, err)
	again, err := svc.Start(ctx, runs.StartRequest{ID: "old-run", Template: templates.SDLCParallel, Requirement: "x"})
	require.NoError(t, err)
	assert.True(t, again.Existing)
	assert.Equal(t, old.GetRunID(), again.RunID)
}
