package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// getDiff is GET /api/workflows/:id/diff (the whole run, start..head) and
// GET /api/workflows/:id/nodes/:node/diff (a node against its base): the
// unified diff as text (text/x-diff), with the commits compared in the
// X-Maestro-Diff-From and -To headers; with Accept: application/json, a
// runs.CommitDiff.
func (s *Server) getDiff(c echo.Context) error {
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	d, err := s.cfg.Runs.Diff(ctx, c.Param("id"), c.Param("node"))
	if err != nil {
		return err
	}
	if strings.Contains(c.Request().Header.Get(echo.HeaderAccept), echo.MIMEApplicationJSON) {
		return c.JSON(http.StatusOK, d)
	}
	h := c.Response().Header()
	h.Set("X-Maestro-Diff-From", d.From)
	h.Set("X-Maestro-Diff-To", d.To)
	h.Set("X-Maestro-Diff-Truncated", strconv.FormatBool(d.Truncated))
	return c.Blob(http.StatusOK, "text/x-diff; charset=utf-8", []byte(d.Text))
}
