package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/maestrohq/maestro/artifacts"
)

// ArtifactList answers GET /api/workflows/:id/artifacts.
type ArtifactList struct {
	WorkflowID string           `json:"workflow_id"`
	Artifacts  []artifacts.Info `json:"artifacts"`
}

// listArtifacts is GET /api/workflows/:id/artifacts: the stored full
// outputs of the run's nodes.
func (s *Server) listArtifacts(c echo.Context) error {
	id := c.Param("id")
	if err := s.knownRun(c, id); err != nil {
		return err
	}
	list, err := s.cfg.Artifacts.List(c.Request().Context(), id)
	if err != nil {
		return artifactError(err)
	}
	if list == nil {
		list = []artifacts.Info{}
	}
	return c.JSON(http.StatusOK, ArtifactList{WorkflowID: id, Artifacts: list})
}

// getArtifact is GET /api/workflows/:id/artifacts/:node: one node's full
// output, as text.
func (s *Server) getArtifact(c echo.Context) error {
	id, node := c.Param("id"), c.Param("node")
	if err := s.knownRun(c, id); err != nil {
		return err
	}
	data, err := s.cfg.Artifacts.Get(c.Request().Context(), id, node)
	if err != nil {
		return artifactError(err)
	}
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", data)
}

// knownRun checks that artifacts are served and that the run exists.
func (s *Server) knownRun(c echo.Context, id string) error {
	if s.cfg.Artifacts == nil {
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "this server has no artifact store"}
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	return s.cfg.Runs.Exists(ctx, id)
}

func artifactError(err error) error {
	switch {
	case errors.Is(err, artifacts.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeArtifactNotFound, Message: err.Error(), Err: err}
	case errors.Is(err, artifacts.ErrInvalidKey):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: err.Error(), Err: err}
	}
	return err
}
