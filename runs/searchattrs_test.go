package runs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/server/temporaltest"

	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workflows"
)

// A namespace without Maestro's search attributes: listing by template says
// what is missing; EnsureSearchAttributes registers them, once.
func TestSearchAttributesRegistration(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	ns := ts.GetDefaultNamespace()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := runs.New(c, runs.Config{})

	missing, err := runs.MissingSearchAttributes(ctx, c, ns)
	require.NoError(t, err)
	assert.Equal(t, []string{"MaestroMode", "MaestroPipeline", "MaestroStatus", "MaestroTemplate"}, missing)
	_, _, err = svc.List(ctx, runs.ListFilter{Template: "sdlc-parallel"})
	assert.ErrorIs(t, err, runs.ErrSearchAttributes)
	_, err = svc.Start(ctx, runs.StartRequest{Template: "sdlc-linear", Requirement: "x"})
	assert.ErrorIs(t, err, runs.ErrSearchAttributes, "a run cannot start without them, and says why")

	added, err := runs.EnsureSearchAttributes(ctx, c, ns)
	require.NoError(t, err)
	assert.Len(t, added, len(workflows.SearchAttributes()))
	added, err = runs.EnsureSearchAttributes(ctx, c, ns)
	require.NoError(t, err)
	assert.Empty(t, added, "registering again adds nothing")
	require.Eventually(t, func() bool {
		_, _, err := svc.List(ctx, runs.ListFilter{Template: "sdlc-parallel"})
		return err == nil
	}, 10*time.Second, 100*time.Millisecond)
}
