package runs_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/server/temporaltest"

	"github.com/maestrohq/maestro/runs"
)

// Health's checks, as `maestro doctor` reports them: a server without a
// worker or Maestro's search attributes fails those two checks and says how
// to fix them; an unknown namespace fails and skips the rest; no namespace
// configured skips the namespace's checks.
func TestHealthChecks(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	status := func(h runs.Health) map[string]string {
		out := map[string]string{}
		for _, c := range h.Checks {
			out[c.Name] = c.Status
		}
		return out
	}
	for _, tc := range []struct {
		name      string
		namespace string
		want      map[string]string
		reachable bool
	}{
		{"no worker, no attributes", ts.GetDefaultNamespace(), map[string]string{
			runs.CheckTemporal: runs.CheckOK, runs.CheckNamespace: runs.CheckOK, runs.CheckWorker: runs.CheckFail, runs.CheckSearchAttr: runs.CheckFail}, true},
		{"unknown namespace", "no-such-namespace", map[string]string{
			runs.CheckTemporal: runs.CheckOK, runs.CheckNamespace: runs.CheckFail, runs.CheckWorker: runs.CheckSkip, runs.CheckSearchAttr: runs.CheckSkip}, true},
		{"no namespace configured", "", map[string]string{
			runs.CheckTemporal: runs.CheckOK, runs.CheckNamespace: runs.CheckSkip, runs.CheckWorker: runs.CheckFail, runs.CheckSearchAttr: runs.CheckSkip}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := runs.New(c, runs.Config{Namespace: tc.namespace, TaskQueue: "health-test"}).Health(ctx)
			assert.Equal(t, tc.want, status(h))
			assert.Equal(t, tc.reachable, h.Reachable)
			assert.False(t, h.OK())
			require.Len(t, h.Checks, 4)
			assert.Equal(t, runs.CheckTemporal, h.Checks[0].Name, "checks in order")
			assert.NotEmpty(t, h.ServerVersion)
			for _, ch := range h.Checks {
				assert.NotEmpty(t, ch.Detail)
				if ch.Status == runs.CheckFail && ch.Name != runs.CheckNamespace {
					assert.NotEmpty(t, ch.Fix, "a failed check says how to fix it: %+v", ch)
				}
			}
		})
	}
	h := runs.New(c, runs.Config{Namespace: ts.GetDefaultNamespace()}).Health(ctx)
	assert.Contains(t, h.Check(runs.CheckSearchAttr).Detail, "missing: MaestroMode")
	assert.Contains(t, h.Check(runs.CheckSearchAttr).Fix[0], "temporal operator search-attribute create")

	h = runs.New(c, runs.Config{Address: ts.GetFrontendHostPort()}).Health(ctx)
	assert.Regexp(t, `^reachable at `+regexp.QuoteMeta(ts.GetFrontendHostPort())+`, server \d`, h.Checks[0].Detail, "doctor's words")

	ts.Stop()
	h = runs.New(c, runs.Config{Namespace: ts.GetDefaultNamespace(), Address: ts.GetFrontendHostPort()}).Health(ctx)
	assert.Contains(t, h.Checks[0].Detail, "cannot connect to Temporal at "+ts.GetFrontendHostPort())
	assert.False(t, h.Reachable)
	assert.Equal(t, runs.CheckFail, h.Checks[0].Status)
	assert.Equal(t, runs.CheckSkip, h.Checks[3].Status)
}

// Watch refuses at once what it cannot follow: an invalid ID, an unknown run.
func TestWatchRefusesAtOnce(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := runs.New(ts.GetDefaultClient(), runs.Config{})
	for _, tc := range []struct {
		id   string
		want error
	}{
		{"no-such-run", runs.ErrNotFound},
		{"a/b", runs.ErrInvalidRequest},
		{"tab\there", runs.ErrInvalidRequest},
		{"..", runs.ErrNotFound}, // refused for a new run, but a lookup of it is harmless
	} {
		t.Run(tc.id, func(t *testing.T) {
			evs, err := svc.Watch(ctx, tc.id, runs.WatchOptions{})
			assert.ErrorIs(t, err, tc.want)
			assert.Nil(t, evs)
		})
	}
}
