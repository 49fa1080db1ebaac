package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
)

const headerIdempotencyKey = "Idempotency-Key"

// headerReplayed is set on a start response that returns an existing run.
const headerReplayed = "Idempotent-Replayed"

// StartRequest is the body of POST /api/workflows: the run service's
// request, which includes the original system's workflow_type.
type StartRequest = runs.StartRequest

// StartResponse answers POST /api/workflows and /retry.
type StartResponse struct {
	WorkflowID string `json:"workflow_id"`
	// ExecutionID is what the original system's clients poll
	// (GET /api/workflows/{execution_id}): the workflow ID again, so that
	// every endpoint taking a run's id accepts it.
	ExecutionID string    `json:"execution_id"`
	RunID       string    `json:"run_id"`
	Status      run.State `json:"status"`
	// Existing says the request's id or Idempotency-Key named a run that
	// already existed; that run is returned and nothing was started.
	Existing bool   `json:"existing,omitempty"`
	RetryOf  string `json:"retry_of,omitempty"`
}

// readBody reads the request body; a body over the limit is 413, an empty one
// 400.
func readBody(c echo.Context) ([]byte, error) {
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return nil, he
		}
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "could not read the request body", Err: err}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "request body is empty; send a JSON object (or, to validate, a YAML pipeline)"}
	}
	return data, nil
}

// decodeStrict decodes one JSON object into v, rejecting unknown fields and
// trailing data, and describes what is wrong naming the field.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		e := jsonError(err)
		if t := bytes.TrimSpace(data); len(t) > 0 && t[0] != '{' {
			e.Message = "the body must be a JSON object: " + e.Message + " (a pipeline in YAML goes to POST /api/dags/validate, or in JSON as the start request's dag)"
		}
		return e
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "unexpected data after the JSON object"}
	}
	return nil
}

func jsonError(err error) *Error {
	var typeErr *json.UnmarshalTypeError
	var synErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(body)"
		}
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON,
			Message: fmt.Sprintf("%s: expected %s, got %s", field, typeErr.Type.Kind(), typeErr.Value),
			Details: FieldDetails{Field: field}, Err: err}
	case errors.As(err, &synErr):
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON,
			Message: fmt.Sprintf("malformed JSON at byte %d: %s", synErr.Offset, strings.TrimPrefix(err.Error(), "json: ")), Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: "malformed JSON: unexpected end of the body", Err: err}
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	e := &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: msg, Err: err}
	if f, ok := strings.CutPrefix(msg, "unknown field "); ok {
		e.Details = FieldDetails{Field: strings.Trim(f, `"`)}
	}
	return e
}

// startRequest reads and checks the body of a start request. Everything that
// can be checked without Temporal is checked here or by runs.Build inside
// runs.Service.Start, before anything is started. fromKey says the run ID
// came from the Idempotency-Key header.
func (s *Server) startRequest(c echo.Context) (req runs.StartRequest, fromKey bool, err error) {
	data, err := readBody(c)
	if err != nil {
		return req, false, err
	}
	if err := decodeStrict(data, &req); err != nil {
		return req, false, err
	}
	if key := c.Request().Header.Get(headerIdempotencyKey); key != "" && strings.TrimSpace(req.ID) == "" {
		id, err := runs.IdempotentID(key)
		if err != nil {
			return req, false, badField(CodeInvalidRequest, headerIdempotencyKey, err.Error())
		}
		req.ID, fromKey = id, true
	}
	return req, fromKey, nil
}

// startRun is POST /api/workflows.
func (s *Server) startRun(c echo.Context) error {
	req, fromKey, err := s.startRequest(c)
	if err != nil {
		return err
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	started, err := s.cfg.Runs.Start(ctx, req)
	if errors.Is(err, runs.ErrIdempotencyConflict) {
		field := "id"
		if fromKey {
			field = headerIdempotencyKey
		}
		return &Error{Status: http.StatusConflict, Code: CodeIdempotency, Details: FieldDetails{Field: field},
			Message: fmt.Sprintf("%s names run %s, which was started with a different request; use a new %s for a different run", field, req.ID, field),
			Err:     err}
	}
	if err != nil {
		return err
	}
	resp := StartResponse{WorkflowID: started.WorkflowID, ExecutionID: started.WorkflowID, RunID: started.RunID,
		Status: started.Status, Existing: started.Existing}
	if resp.Status == "" {
		resp.Status = run.Running
	}
	if !started.Existing {
		s.metrics.runStarted(req.Template)
		return c.JSON(http.StatusCreated, resp)
	}
	c.Response().Header().Set(headerReplayed, "true")
	return c.JSON(http.StatusOK, resp)
}

// runStatus is GET /api/workflows/:id.
func (s *Server) runStatus(c echo.Context) error {
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	st, err := s.cfg.Runs.Status(ctx, c.Param("id"))
	if err != nil {
		return s.statusError(ctx, err)
	}
	return c.JSON(http.StatusOK, NewRunView(st))
}

// runNodes answers GET /api/workflows/:id/nodes?status=&page_size=&page_token=
// with a page of the run's nodes (run.NodesPage).
func (s *Server) runNodes(c echo.Context) error {
	q := run.NodesQuery{Status: run.NodeState(c.QueryParam("status")), PageToken: c.QueryParam("page_token")}
	if v := c.QueryParam("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > run.MaxNodesPage {
			return badField(CodeInvalidRequest, "page_size", fmt.Sprintf("page_size must be an integer from 1 to %d, got %q", run.MaxNodesPage, v))
		}
		q.PageSize = n
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	p, err := s.cfg.Runs.Nodes(ctx, c.Param("id"), q)
	if err != nil {
		return s.statusError(ctx, err)
	}
	for i := range p.Nodes {
		if p.Nodes[i].DependsOn == nil {
			p.Nodes[i].DependsOn = []string{}
		}
	}
	return c.JSON(http.StatusOK, p)
}

// statusError explains a status query that timed out: the run exists but no
// worker answered.
func (s *Server) statusError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, runs.ErrNotFound) {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeWorkerUnavailable,
			Message: "no worker answered the run's status query in time; is a worker polling the task queue?", Err: err}
	}
	return err
}

// ListResponse answers GET /api/workflows.
type ListResponse struct {
	Workflows []runs.RunSummary `json:"workflows"`
	// NextPageToken, when set, fetches the next page (?page_token=).
	NextPageToken string `json:"next_page_token,omitempty"`
}

// MaxPageSize caps ?page_size.
const MaxPageSize = 1000

func (s *Server) listRuns(c echo.Context) error {
	return s.list(c, c.QueryParam("status"))
}

func (s *Server) listActive(c echo.Context) error {
	return s.list(c, runs.StatusActive)
}

func (s *Server) list(c echo.Context, status string) error {
	f := runs.ListFilter{Status: status, Template: c.QueryParam("template")}
	if f.Status != "" && !validStatus(f.Status) {
		return badField(CodeInvalidRequest, "status", fmt.Sprintf("unknown status %.100q", f.Status), runs.ListStatuses()...)
	}
	if v := c.QueryParam("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			return badField(CodeInvalidRequest, "page_size", fmt.Sprintf("page_size must be an integer from 1 to %d, got %q", MaxPageSize, v))
		}
		f.PageSize = n
	}
	if v := c.QueryParam("page_token"); v != "" {
		tok, ok := decodeListToken(v)
		if !ok {
			return badField(CodeInvalidRequest, "page_token", "page_token is not a token this API returned")
		}
		f.NextPageToken = tok
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	list, next, err := s.cfg.Runs.List(ctx, f)
	if err != nil {
		if len(f.NextPageToken) > 0 && toError(err).Status == http.StatusInternalServerError {
			return badField(CodeInvalidRequest, "page_token", "page_token is not valid (any more)")
		}
		return err
	}
	resp := ListResponse{Workflows: list}
	if resp.Workflows == nil {
		resp.Workflows = []runs.RunSummary{}
	}
	if len(next) > 0 {
		resp.NextPageToken = encodeListToken(next)
	}
	return c.JSON(http.StatusOK, resp)
}

// A list page token is Temporal's, behind a version byte and its CRC-32:
// a token this API did not return is refused at once (Temporal took
// seconds to fail on some, answered as if Temporal were down).
const listTokenVersion = 1

func encodeListToken(raw []byte) string {
	b := make([]byte, 5, 5+len(raw))
	b[0] = listTokenVersion
	binary.BigEndian.PutUint32(b[1:], crc32.ChecksumIEEE(raw))
	return base64.RawURLEncoding.EncodeToString(append(b, raw...))
}

func decodeListToken(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 6 || b[0] != listTokenVersion {
		return nil, false
	}
	raw := b[5:]
	return raw, binary.BigEndian.Uint32(b[1:5]) == crc32.ChecksumIEEE(raw)
}

func validStatus(st string) bool {
	st = strings.ToLower(strings.TrimSpace(st))
	for _, s := range runs.ListStatuses() {
		if s == st {
			return true
		}
	}
	return false
}

// ControlResponse answers cancel, terminate, pause and resume.
type ControlResponse struct {
	WorkflowID string `json:"workflow_id"`
	// Action is what was asked: cancel, terminate, pause or resume.
	Action string `json:"action"`
	// Accepted is always true: the run acts on the request asynchronously;
	// follow GET /api/workflows/{id} or the events stream.
	Accepted bool `json:"accepted"`
}

func (s *Server) control(c echo.Context, action string, do func(context.Context, string) error) error {
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	id := c.Param("id")
	if err := do(ctx, id); err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, ControlResponse{WorkflowID: id, Action: action, Accepted: true})
}

func (s *Server) cancelRun(c echo.Context) error { return s.control(c, "cancel", s.cfg.Runs.Cancel) }
func (s *Server) pauseRun(c echo.Context) error  { return s.control(c, "pause", s.cfg.Runs.Pause) }
func (s *Server) resumeRun(c echo.Context) error { return s.control(c, "resume", s.cfg.Runs.Resume) }

// retryRun is POST /api/workflows/:id/retry: a new run reusing the completed
// nodes' outputs.
func (s *Server) retryRun(c echo.Context) error {
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	id := c.Param("id")
	started, err := s.cfg.Runs.Retry(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, StartResponse{WorkflowID: started.WorkflowID, ExecutionID: started.WorkflowID,
		RunID: started.RunID, Status: run.Running, RetryOf: id})
}

// Validation answers POST /api/dags/validate for a valid pipeline.
type Validation struct {
	Valid         bool              `json:"valid"`
	Pipeline      string            `json:"pipeline"`
	Nodes         int               `json:"nodes"`
	Mode          dag.Mode          `json:"mode"`
	Parallelism   int               `json:"parallelism"`
	Timeout       string            `json:"timeout"`
	FailurePolicy dag.FailurePolicy `json:"failure_policy"`
	// Levels groups node IDs by depth: each level's nodes depend only on
	// nodes of earlier levels.
	Levels [][]string `json:"levels"`
	// Order is the one-at-a-time order of the linear modes.
	Order []string `json:"order,omitempty"`
}

// validate is POST /api/dags/validate. The body is a pipeline (JSON or YAML)
// or a start request ({"dag": …} or {"template": …} with overrides), checked
// exactly as a start would check it; nothing is started.
func (s *Server) validate(c echo.Context) error {
	data, err := readBody(c)
	if err != nil {
		return err
	}
	var req runs.StartRequest
	if isStartRequest(data) {
		if err := decodeStrict(data, &req); err != nil {
			return err
		}
	} else {
		p, err := dag.Parse(data)
		if err != nil {
			return syntaxError(data, err)
		}
		req.DAG = p
	}
	in, err := s.cfg.Runs.Build(req)
	if err != nil {
		return err
	}
	p := in.Pipeline
	v := Validation{Valid: true, Pipeline: p.Name, Nodes: len(p.Nodes), Mode: p.Mode, Parallelism: p.Parallelism(),
		Timeout: p.RunTimeout().String(), FailurePolicy: p.Policy(), Levels: p.Levels()}
	if p.Mode != dag.ModeDAGParallel {
		v.Order = p.Order(p.Mode)
	}
	return c.JSON(http.StatusOK, v)
}

// syntaxError gives a pipeline definition's syntax error the code of the
// format it was read as: JSON for a document starting with '{' (as dag.Parse
// reads it), YAML otherwise.
func syntaxError(data []byte, err error) error {
	if !errors.Is(err, dag.ErrSyntax) {
		return err
	}
	code := CodeMalformedYAML
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' {
		code = CodeMalformedJSON
	}
	return &Error{Status: http.StatusBadRequest, Code: code, Message: err.Error(), Err: err}
}

// isStartRequest tells a start-request-shaped body ({"dag": …},
// {"template": …}, {"workflow_type": …}) from a bare pipeline, which has none
// of these fields.
func isStartRequest(data []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(data, &probe) != nil {
		return false
	}
	for _, k := range []string{"dag", "template", "workflow_type"} {
		if _, ok := probe[k]; ok {
			return true
		}
	}
	return false
}

// listTemplates is GET /api/templates.
func (s *Server) listTemplates(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"templates": templates.List()})
}

// Info answers GET /api/info: what a client (the run page) needs to know of
// the server besides runs. It needs a token (read) when tokens are set:
// unlike /health, it may name internal addresses.
type Info struct {
	// Namespace is the Temporal namespace of the runs.
	Namespace string `json:"namespace"`
	// TemporalUI is the Temporal Web UI's base URL, when the server knows
	// one; a run is at <TemporalUI>/namespaces/<namespace>/workflows/<workflow_id>/<run_id>/history.
	TemporalUI string `json:"temporal_ui_url,omitempty"`
}

// info is GET /api/info.
func (s *Server) info(c echo.Context) error {
	return c.JSON(http.StatusOK, Info{Namespace: s.cfg.Namespace, TemporalUI: strings.TrimRight(s.cfg.TemporalUI, "/")})
}

// NodeView is one node in GET /api/workflows/{id}: the workflow's own node
// status, whose client-facing fields are always present.
type NodeView = run.NodeStatus

// RunView is GET /api/workflows/{id}: the run's state and every node's, as
// the workflow's status query and result give it.
type RunView = run.Status

// NewRunView prepares a run's status for the API: counts and dependency lists
// are never null.
func NewRunView(st *run.Status) *RunView {
	if st.Counts == nil {
		st.Counts = map[run.NodeState]int{}
	}
	if st.Nodes == nil {
		st.Nodes = []run.NodeStatus{}
	}
	for i := range st.Nodes {
		if st.Nodes[i].DependsOn == nil {
			st.Nodes[i].DependsOn = []string{}
		}
	}
	return st
}
