package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// Health answers GET /health.
type Health struct {
	// Status is "ok" (Temporal reachable and a worker polls the task
	// queue), "no_worker" (reachable, but no worker polls; runs would not
	// progress) or "unavailable" (Temporal unreachable; HTTP 503).
	Status   string         `json:"status"`
	Temporal TemporalHealth `json:"temporal"`
}

// TemporalHealth describes the Temporal connection.
type TemporalHealth struct {
	Reachable bool   `json:"reachable"`
	Namespace string `json:"namespace,omitempty"`
	TaskQueue string `json:"task_queue"`
	// WorkerPolling says a worker polls the task queue for workflow and
	// activity tasks; Pollers counts the pollers Temporal saw recently.
	WorkerPolling bool   `json:"worker_polling"`
	Pollers       int    `json:"pollers"`
	Error         string `json:"error,omitempty"`
}

// Health statuses.
const (
	HealthOK          = "ok"
	HealthNoWorker    = "no_worker"
	HealthUnavailable = "unavailable"
)

// health is GET /health: 200 while Temporal is reachable, 503 otherwise.
func (s *Server) health(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.HealthTimeout)
	defer cancel()
	queue := s.cfg.Runs.Config().TaskQueue
	h := Health{Status: HealthOK, Temporal: TemporalHealth{Namespace: s.cfg.Namespace, TaskQueue: queue}}
	if _, err := s.cfg.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		h.Status = HealthUnavailable
		h.Temporal.Error = err.Error()
		return c.JSON(http.StatusServiceUnavailable, h)
	}
	h.Temporal.Reachable = true
	polling := true
	for _, t := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		resp, err := s.cfg.Client.DescribeTaskQueue(ctx, queue, t)
		if err != nil {
			h.Temporal.Error = "describe task queue: " + err.Error()
			polling = false
			break
		}
		h.Temporal.Pollers += len(resp.GetPollers())
		polling = polling && len(resp.GetPollers()) > 0
	}
	h.Temporal.WorkerPolling = polling
	if !polling {
		h.Status = HealthNoWorker
	}
	return c.JSON(http.StatusOK, h)
}
