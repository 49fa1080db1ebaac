package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// TerminateRequest is the body of POST /api/workflows/:id/terminate.
type TerminateRequest struct {
	// Reason says why; it is required and recorded in the run's history.
	Reason string `json:"reason"`
}

// terminateRun is POST /api/workflows/:id/terminate: it ends a run at once,
// for a run that does not react to cancel (runs.Service.Terminate).
func (s *Server) terminateRun(c echo.Context) error {
	data, err := readBody(c)
	if err != nil {
		return err
	}
	var req TerminateRequest
	if err := decodeStrict(data, &req); err != nil {
		return err
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	id := c.Param("id")
	if err := s.cfg.Runs.Terminate(ctx, id, req.Reason); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, ControlResponse{WorkflowID: id, Action: "terminate", Accepted: true})
}
