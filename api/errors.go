package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
)

// Error codes in error responses.
const (
	CodeBadRequest        = "bad_request"
	CodeMalformedJSON     = "malformed_json"
	CodeMalformedYAML     = "malformed_yaml"
	CodeInvalidRequest    = "invalid_request"
	CodeInvalidDAG        = "invalid_dag"
	CodeUnknownTemplate   = "unknown_template"
	CodeBodyTooLarge      = "body_too_large"
	CodePayloadTooLarge   = "payload_too_large"
	CodeIdempotency       = "idempotency_conflict"
	CodeWebSocketRequired = "websocket_required"
	CodeUnauthorized      = "unauthorized"
	CodeForbidden         = "forbidden"
	CodeNotFound          = "not_found"
	CodeRunNotFound       = "run_not_found"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeRunNotRunning     = "run_not_running"
	CodeRunNotRetryable   = "run_not_retryable"
	CodeRunNotRewindable  = "run_not_rewindable"
	CodeApprovalRefused   = "approval_refused"
	CodeBudgetRefused     = "budget_refused"
	CodeSearchAttributes  = "search_attributes_missing"
	CodeArtifactNotFound  = "artifact_not_found"
	CodeRateLimited       = "rate_limited"
	CodeTooManyStreams    = "too_many_streams"
	CodeTemporalDown      = "temporal_unavailable"
	CodeWorkerUnavailable = "worker_unavailable"
	CodeShuttingDown      = "shutting_down"
	CodeBusy              = "busy"
	CodeRequestTimeout    = "request_timeout"
	CodeQueryFailed       = "query_failed"
	CodeStateUnavailable  = "state_unavailable"
	CodeInternal          = "internal"
	CodeNoWorkspace       = "no_workspace"
	CodeNoCommit          = "no_commit"
	CodeDiffUnavailable   = "diff_unavailable"
)

// Error is an API error; it is sent as {"error": {code, message, details}}
// with Status as the HTTP status.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
	// RequestID repeats the X-Request-Id response header.
	RequestID string `json:"request_id,omitempty"`
	// Err is the cause, logged but never sent.
	Err error `json:"-"`
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorResponse is the body of every error response.
type ErrorResponse struct {
	Error *Error `json:"error"`
}

// FieldDetails names the request field (or header) an error is about.
type FieldDetails struct {
	Field   string   `json:"field"`
	Allowed []string `json:"allowed,omitempty"`
}

// ProblemDetails lists every problem of an invalid pipeline.
type ProblemDetails struct {
	Problems []dag.Problem `json:"problems"`
}

func badField(code, field, msg string, allowed ...string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Message: msg, Details: FieldDetails{Field: field, Allowed: allowed}}
}

// toError classifies err: API errors as they are, Echo's own errors by
// status, the run service's errors by kind, Temporal being unreachable as
// 503; anything else is an internal error.
func toError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromHTTPError(he)
	}
	var fe *runs.FieldError
	if errors.As(err, &fe) {
		e := &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: fe.Error(),
			Details: FieldDetails{Field: fe.Field, Allowed: fe.Allowed}, Err: err}
		switch {
		case errors.Is(fe, templates.ErrUnknown):
			e.Status, e.Code = http.StatusUnprocessableEntity, CodeUnknownTemplate
		case errors.Is(fe, runs.ErrNotRewindable):
			e.Status, e.Code = http.StatusConflict, CodeRunNotRewindable
		}
		return e
	}
	var ve *dag.ValidationError
	switch {
	case errors.As(err, &ve):
		return &Error{Status: http.StatusUnprocessableEntity, Code: CodeInvalidDAG, Message: ve.Error(),
			Details: ProblemDetails{Problems: ve.Problems}, Err: err}
	case errors.Is(err, templates.ErrUnknown):
		return &Error{Status: http.StatusUnprocessableEntity, Code: CodeUnknownTemplate, Message: err.Error(),
			Details: FieldDetails{Field: "template", Allowed: templates.Names()}, Err: err}
	case errors.Is(err, dag.ErrSyntax):
		return &Error{Status: http.StatusBadRequest, Code: CodeMalformedJSON, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeRunNotFound, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrNotRunning):
		return &Error{Status: http.StatusConflict, Code: CodeRunNotRunning, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrNotRetryable):
		return &Error{Status: http.StatusConflict, Code: CodeRunNotRetryable, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrSearchAttributes):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeSearchAttributes, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrApprovalRefused):
		return &Error{Status: http.StatusConflict, Code: CodeApprovalRefused, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrBudgetRefused):
		return &Error{Status: http.StatusConflict, Code: CodeBudgetRefused, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrNoWorkerAnswer):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeWorkerUnavailable,
			Message: "no worker answered the run's status query in time; is a worker polling the task queue?", Err: err}
	case errors.Is(err, runs.ErrPayloadTooLarge):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodePayloadTooLarge, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrIdempotencyConflict):
		return &Error{Status: http.StatusConflict, Code: CodeIdempotency, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrNoNode):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrNoWorkspace):
		return &Error{Status: http.StatusNotFound, Code: CodeNoWorkspace, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrNoCommit):
		return &Error{Status: http.StatusConflict, Code: CodeNoCommit, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrDiffUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeDiffUnavailable, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrInvalidRequest):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: err.Error(), Err: err}
	case errors.Is(err, runs.ErrStateUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeStateUnavailable, Message: err.Error(), Err: err}
	}
	var nr *serviceerror.WorkflowNotReady
	if errors.As(err, &nr) {
		// The run has no workflow task that completed to answer a query
		// from (it was just started, or no worker ran it yet).
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeStateUnavailable,
			Message: "the run's state cannot be read yet: no workflow task of it has run (is a worker polling the task queue?): " + nr.Error(), Err: err}
	}
	var qf *serviceerror.QueryFailed
	if errors.As(err, &qf) {
		return &Error{Status: http.StatusBadGateway, Code: CodeQueryFailed, Message: "the run's status query failed: " + qf.Error(), Err: err}
	}
	switch serviceerror.ToStatus(err).Code() {
	case codes.Unavailable, codes.ResourceExhausted:
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeTemporalDown, Message: "Temporal is unavailable, try again later", Err: err}
	case codes.DeadlineExceeded:
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeTemporalDown,
			Message: "Temporal did not answer in time (is the server up, and does a worker poll the task queue?)", Err: err}
	case codes.Canceled:
		if errors.Is(err, context.Canceled) {
			// The client went away; nobody reads this.
			return &Error{Status: 499, Code: "client_closed_request", Message: "request cancelled", Err: err}
		}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", Err: err}
}

func fromHTTPError(he *echo.HTTPError) *Error {
	msg := http.StatusText(he.Code)
	if m, ok := he.Message.(string); ok && m != "" {
		msg = m
	}
	code := CodeBadRequest
	switch he.Code {
	case http.StatusNotFound:
		code, msg = CodeNotFound, "no such endpoint (see /openapi.json)"
	case http.StatusMethodNotAllowed:
		code = CodeMethodNotAllowed
	case http.StatusRequestEntityTooLarge:
		code, msg = CodeBodyTooLarge, "request body is larger than the limit"
	case http.StatusTooManyRequests:
		code = CodeRateLimited
	case http.StatusUnauthorized:
		code = CodeUnauthorized
	default:
		if he.Code >= 500 {
			code = CodeInternal
		}
	}
	return &Error{Status: he.Code, Code: code, Message: msg, Err: he}
}

// handleError is Echo's error handler: every error becomes a JSON error.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	e := *toError(err)
	e.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
	if e.Status >= 500 && e.Err != nil {
		s.log.ErrorContext(c.Request().Context(), "request failed", "method", c.Request().Method,
			"path", c.Request().URL.Path, "status", e.Status, "error", e.Err, "request_id", e.RequestID)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(e.Status)
		return
	}
	if err := c.JSON(e.Status, ErrorResponse{Error: &e}); err != nil {
		s.log.DebugContext(c.Request().Context(), "write error response", "error", err)
	}
}
