package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/maestrohq/maestro/runs"
)

// RewindRequest is the body of POST /api/workflows/:id/rewind.
type RewindRequest struct {
	// To is the node to rewind to: it and what started after it run again.
	To string `json:"to"`
	// KeepSignals re-applies the signals and updates (approvals among
	// them) the run received after that point; by default they are
	// dropped.
	KeepSignals bool `json:"keep_signals,omitempty"`
	// Reason is recorded in the run's history.
	Reason string `json:"reason,omitempty"`
}

// RewindResponse answers POST /api/workflows/:id/rewind.
type RewindResponse = runs.Rewound

// rewindRun is POST /api/workflows/:id/rewind: it resets the run to just
// before the node started and answers which nodes run again.
func (s *Server) rewindRun(c echo.Context) error {
	data, err := readBody(c)
	if err != nil {
		return err
	}
	var req RewindRequest
	if err := decodeStrict(data, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.To) == "" {
		return badField(CodeInvalidRequest, "to", "to: is required (the node to rewind to)")
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	res, err := s.cfg.Runs.Rewind(ctx, c.Param("id"), req.To, runs.RewindOptions{KeepSignals: req.KeepSignals, Reason: req.Reason})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}
