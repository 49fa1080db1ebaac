package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workflows"
)

func TestNewHealthClassifiesTheChecks(t *testing.T) {
	checks := func(states ...string) []runs.Check {
		names := []string{runs.CheckTemporal, runs.CheckNamespace, runs.CheckWorker, runs.CheckSearchAttr}
		out := make([]runs.Check, len(states))
		for i, st := range states {
			out[i] = runs.Check{Name: names[i], Status: st, Detail: names[i] + " " + st}
		}
		return out
	}
	ok, fail, skip := runs.CheckOK, runs.CheckFail, runs.CheckSkip
	for _, tc := range []struct {
		name      string
		health    runs.Health
		status    string
		code      int
		errDetail string
	}{
		{"all ok", runs.Health{Reachable: true, WorkerPolling: true, Checks: checks(ok, ok, ok, ok)}, api.HealthHealthy, http.StatusOK, ""},
		{"no namespace configured", runs.Health{Reachable: true, WorkerPolling: true, Checks: checks(ok, skip, ok, skip)}, api.HealthHealthy, http.StatusOK, ""},
		{"no worker", runs.Health{Reachable: true, Checks: checks(ok, ok, fail, ok)}, api.HealthDegraded, http.StatusOK, "worker fail"},
		{"no search attributes", runs.Health{Reachable: true, WorkerPolling: true, Checks: checks(ok, ok, ok, fail)}, api.HealthDegraded, http.StatusOK, "search_attributes fail"},
		{"no namespace", runs.Health{Reachable: true, Checks: checks(ok, fail, skip, skip)}, api.HealthUnhealthy, http.StatusServiceUnavailable, "namespace fail"},
		{"unreachable", runs.Health{Checks: checks(fail, skip, skip, skip)}, api.HealthUnhealthy, http.StatusServiceUnavailable, "temporal fail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, code := api.NewHealth(tc.health)
			assert.Equal(t, tc.status, h.Status)
			assert.Equal(t, tc.code, code)
			assert.Equal(t, tc.errDetail, h.Temporal.Error)
			assert.Equal(t, tc.health.Reachable, h.Temporal.Reachable)
			assert.Len(t, h.Checks, 4)
			assert.Equal(t, workflows.WorkflowCodeVersion(), h.WorkflowCode)
		})
	}
}
