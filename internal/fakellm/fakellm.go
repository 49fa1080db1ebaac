// Package fakellm is a local fake of the Anthropic Messages API and the
// OpenAI Chat Completions API for tests: an httptest server on 127.0.0.1
// that checks each request exactly (method, path, headers including the key
// and version, body shape) and answers in each API's real response shape,
// or with an error answer the test chooses.
package fakellm

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Provider names as in dag.
const (
	Anthropic = "anthropic"
	OpenAI    = "openai"
)

// Request is one request as the fake received it.
type Request struct {
	Provider    string
	Path        string
	Header      http.Header
	Model       string
	MaxTokens   int
	Temperature *float64
	System      string
	User        string
	// Body is the decoded JSON body.
	Body map[string]any
}

// Reply is what the fake answers. A zero Status is 200 with Text in the
// provider's response shape; another status sends ErrorType and Message in
// the provider's error shape (or RawBody when set).
type Reply struct {
	Status       int
	Text         string
	InputTokens  int
	OutputTokens int
	StopReason   string
	Header       map[string]string
	ErrorType    string
	Message      string
	RawBody      string
}

// Server is the fake.
type Server struct {
	*httptest.Server
	t       testing.TB
	key     string
	respond func(*http.Request, Request) Reply
	mu      sync.Mutex
	reqs    []Request
}

// New starts a fake that expects key (for OpenAI, an empty key means no
// Authorization header at all, as a local server takes it) and answers each well-formed request
// with respond (called on the server's goroutine; it may block until the
// request's context is done to play a slow model). A malformed request fails
// the test and gets a 400. The server is closed when the test ends.
func New(t testing.TB, key string, respond func(*http.Request, Request) Reply) *Server {
	t.Helper()
	s := &Server{t: t, key: key, respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Requests returns the well-formed requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Path: r.URL.Path, Header: r.Header.Clone()}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if r.Method != http.MethodPost {
		bad("method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		bad("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(raw, &req.Body); err != nil {
		bad("body is not a JSON object: %v", err)
	}
	req.Model, _ = req.Body["model"].(string)
	if req.Model == "" {
		bad("no model")
	}
	if mt, ok := req.Body["max_tokens"].(float64); !ok || mt <= 0 || mt != float64(int(mt)) {
		bad("max_tokens %v, want a positive integer", req.Body["max_tokens"])
	} else {
		req.MaxTokens = int(mt)
	}
	if v, ok := req.Body["temperature"]; ok {
		f, isNum := v.(float64)
		if !isNum {
			bad("temperature %v is not a number", v)
		}
		req.Temperature = &f
	}
	msgs, _ := req.Body["messages"].([]any)
	message := func(i int, role string) string {
		if i >= len(msgs) {
			bad("no message %d", i)
			return ""
		}
		m, _ := msgs[i].(map[string]any)
		if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, []string{"content", "role"}) {
			bad("message %d has fields %v, want content and role", i, got)
		}
		if m["role"] != role {
			bad("message %d has role %v, want %s", i, m["role"], role)
		}
		c, ok := m["content"].(string)
		if !ok || c == "" {
			bad("message %d content is not a non-empty string", i)
		}
		return c
	}
	fields := slices.Sorted(maps.Keys(req.Body))
	switch r.URL.Path {
	case "/v1/messages":
		req.Provider = Anthropic
		if got := r.Header.Get("x-api-key"); got != s.key {
			bad("x-api-key %q, want the key", got)
		}
		if got := r.Header.Get("anthropic-version"); got != "2023-06-01" {
			bad("anthropic-version %q, want 2023-06-01", got)
		}
		if r.Header.Get("Authorization") != "" {
			bad("an Authorization header is sent to Anthropic")
		}
		want := []string{"max_tokens", "messages", "model", "system"}
		if req.Temperature != nil {
			want = append(want, "temperature")
		}
		if !slices.Equal(fields, want) {
			bad("body fields %v, want %v", fields, want)
		}
		req.System, _ = req.Body["system"].(string)
		if len(msgs) != 1 {
			bad("%d messages, want 1", len(msgs))
		}
		req.User = message(0, "user")
	case "/v1/chat/completions":
		req.Provider = OpenAI
		switch got := r.Header.Get("Authorization"); {
		case s.key == "" && got != "":
			bad("Authorization %q sent to a server that wants none", got)
		case s.key != "" && got != "Bearer "+s.key:
			bad("Authorization %q, want Bearer and the key", got)
		}
		if r.Header.Get("x-api-key") != "" {
			bad("an x-api-key header is sent to an OpenAI-compatible API")
		}
		want := []string{"max_tokens", "messages", "model"}
		if req.Temperature != nil {
			want = append(want, "temperature")
		}
		slices.Sort(want)
		if !slices.Equal(fields, want) {
			bad("body fields %v, want %v", fields, want)
		}
		if len(msgs) != 2 {
			bad("%d messages, want system and user", len(msgs))
		}
		req.System = message(0, "system")
		req.User = message(1, "user")
	default:
		bad("path %s, want /v1/messages or /v1/chat/completions", r.URL.Path)
	}
	if len(problems) > 0 {
		s.t.Errorf("fakellm: malformed request to %s: %s", r.URL.Path, strings.Join(problems, "; "))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"type":"error","error":{"type":"invalid_request_error","message":"malformed request"}}`)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()

	rep := s.respond(r, req)
	if r.Context().Err() != nil {
		return
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	status := rep.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	var body any
	switch {
	case rep.RawBody != "":
		_, _ = io.WriteString(w, rep.RawBody)
		return
	case status >= 300 && req.Provider == Anthropic:
		body = map[string]any{"type": "error", "error": map[string]any{"type": rep.ErrorType, "message": rep.Message}}
	case status >= 300:
		body = map[string]any{"error": map[string]any{"message": rep.Message, "type": rep.ErrorType, "param": nil, "code": nil}}
	case req.Provider == Anthropic:
		stop := rep.StopReason
		if stop == "" {
			stop = "end_turn"
		}
		body = map[string]any{
			"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": req.Model,
			"content":       []any{map[string]any{"type": "text", "text": rep.Text}},
			"stop_reason":   stop,
			"stop_sequence": nil,
			"usage":         map[string]any{"input_tokens": rep.InputTokens, "output_tokens": rep.OutputTokens},
		}
	default:
		stop := rep.StopReason
		if stop == "" {
			stop = "stop"
		}
		body = map[string]any{
			"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283, "model": req.Model,
			"choices": []any{map[string]any{
				"index": 0, "message": map[string]any{"role": "assistant", "content": rep.Text, "refusal": nil},
				"logprobs": nil, "finish_reason": stop,
			}},
			"usage": map[string]any{"prompt_tokens": rep.InputTokens, "completion_tokens": rep.OutputTokens,
				"total_tokens": rep.InputTokens + rep.OutputTokens},
		}
	}
	_ = json.NewEncoder(w).Encode(body)
}
