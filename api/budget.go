package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/maestrohq/maestro/run"
)

// BudgetRequest is the body of POST /api/workflows/:id/budget: amounts to
// add to the run's budget, or a rejection.
type BudgetRequest struct {
	AddUSD    float64 `json:"add_usd,omitempty"`
	AddTokens int     `json:"add_tokens,omitempty"`
	Reject    bool    `json:"reject,omitempty"`
	Comment   string  `json:"comment,omitempty"`
	By        string  `json:"by,omitempty"`
}

// extendBudget is POST /api/workflows/:id/budget: it raises the run's
// budget (the nodes waiting for it start again) or rejects the extension
// (they fail with BudgetExceeded), and answers with the budget and spend.
func (s *Server) extendBudget(c echo.Context) error {
	data, err := readBody(c)
	if err != nil {
		return err
	}
	var req BudgetRequest
	if err := decodeStrict(data, &req); err != nil {
		return err
	}
	d := run.BudgetDecision(req)
	if err := d.Check(); err != nil {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: err.Error()}
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	b, err := s.cfg.Runs.ExtendBudget(ctx, c.Param("id"), d)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, b)
}
