package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workflows"
)

// Health answers GET /health.
type Health struct {
	// Status is "healthy" (Temporal reachable and a worker polls the task
	// queue), "degraded" (reachable, but no worker polls, so runs would not
	// progress, or Maestro's search attributes are missing, so none would
	// start) or "unhealthy" (Temporal unreachable or the namespace missing;
	// HTTP 503).
	Status   string         `json:"status"`
	Temporal TemporalHealth `json:"temporal"`
	// Checks are runs.Service.Health's checks, in order: temporal,
	// namespace, worker, search_attributes (the same as `maestro doctor`).
	Checks []runs.Check `json:"checks"`
	// WorkflowCode is the version of the workflow code this process was
	// built with (its GetVersion patches and their hash, as `maestro
	// version` prints it): compare it with the workers' after a deployment.
	WorkflowCode workflows.CodeVersion `json:"workflow_code"`
}

// TemporalHealth describes the Temporal connection.
type TemporalHealth struct {
	Reachable     bool   `json:"reachable"`
	ServerVersion string `json:"server_version,omitempty"`
	Namespace     string `json:"namespace,omitempty"`
	TaskQueue     string `json:"task_queue"`
	// WorkerPolling says a worker polls the task queue for workflow and
	// activity tasks; Pollers counts the pollers Temporal saw recently.
	WorkerPolling bool `json:"worker_polling"`
	Pollers       int  `json:"pollers"`
	// Error is the first failed check's detail.
	Error string `json:"error,omitempty"`
}

// Health statuses.
const (
	HealthHealthy   = "healthy"
	HealthDegraded  = "degraded"
	HealthUnhealthy = "unhealthy"
)

// NewHealth summarises runs' health checks as /health reports them, with the
// HTTP status to send: 503 when unhealthy, 200 otherwise.
func NewHealth(rh runs.Health) (Health, int) {
	h := Health{Status: HealthHealthy, Checks: rh.Checks, WorkflowCode: workflows.WorkflowCodeVersion(), Temporal: TemporalHealth{
		Reachable: rh.Reachable, ServerVersion: rh.ServerVersion, Namespace: rh.Namespace, TaskQueue: rh.TaskQueue,
		WorkerPolling: rh.WorkerPolling, Pollers: rh.WorkflowPollers + rh.ActivityPollers,
	}}
	if h.Checks == nil {
		h.Checks = []runs.Check{}
	}
	for _, c := range rh.Checks {
		if c.Status != runs.CheckFail {
			continue
		}
		if h.Temporal.Error == "" {
			h.Temporal.Error = c.Detail
		}
		switch c.Name {
		case runs.CheckTemporal, runs.CheckNamespace:
			h.Status = HealthUnhealthy
		default:
			if h.Status == HealthHealthy {
				h.Status = HealthDegraded
			}
		}
	}
	if !rh.Reachable {
		h.Status = HealthUnhealthy
	}
	if h.Status == HealthUnhealthy {
		return h, http.StatusServiceUnavailable
	}
	return h, http.StatusOK
}

// health is GET /health: 200 while Temporal is reachable, 503 otherwise.
func (s *Server) health(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.HealthTimeout)
	defer cancel()
	h, code := NewHealth(s.cfg.Runs.Health(ctx))
	if s.cfg.Namespace != "" {
		h.Temporal.Namespace = s.cfg.Namespace
	}
	return c.JSON(code, h)
}
