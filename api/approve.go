package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/maestrohq/maestro/run"
)

// ApproveRequest is the body of POST /api/workflows/:id/approve/:node.
type ApproveRequest struct {
	// Approved lets the run go on; false rejects the node.
	Approved *bool  `json:"approved"`
	Comment  string `json:"comment,omitempty"`
	By       string `json:"by,omitempty"`
}

// approveNode is POST /api/workflows/:id/approve/:node: it approves or
// rejects an approval node and answers with the node's state.
func (s *Server) approveNode(c echo.Context) error {
	data, err := readBody(c)
	if err != nil {
		return err
	}
	var req ApproveRequest
	if err := decodeStrict(data, &req); err != nil {
		return err
	}
	if req.Approved == nil {
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest,
			Message: "approved: is required (true or false)", Details: FieldDetails{Field: "approved"}}
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	st, err := s.cfg.Runs.Approve(ctx, c.Param("id"), run.Approval{
		Node: c.Param("node"), Approved: *req.Approved, Comment: req.Comment, By: req.By,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}
