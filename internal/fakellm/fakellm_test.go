package fakellm_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/internal/fakellm"
)

// recorder keeps the fake's complaints instead of failing the test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func post(t *testing.T, url string, header map[string]string, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestStrict(t *testing.T) {
	anthropic := map[string]string{"x-api-key": "k", "anthropic-version": "2023-06-01"}
	bearer := map[string]string{"Authorization": "Bearer k", "anthropic-version": "2026-10-21"}
	openai := map[string]string{"Authorization": "Bearer k"}
	tests := []struct {
		name   string
		path   string
		header map[string]string
		body   string
		want   string // "" for a well-formed request
	}{
		{name: "anthropic, x-api-key and a string", path: "/v1/messages", header: anthropic,
			body: `{"model":"m","max_tokens":5,"system":"S","messages":[{"role":"user","content":"Hi"}]}`},
		{name: "anthropic, Bearer and blocks", path: "/v1/messages", header: bearer,
			body: `{"model":"m","max_tokens":5,"system":[{"type":"text","text":"S"}],"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`},
		{name: "anthropic, no key", path: "/v1/messages", header: map[string]string{"anthropic-version": "2026-10-21"},
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`, want: "no key"},
		{name: "anthropic, wrong key", path: "/v1/messages", header: map[string]string{"Authorization": "Bearer x", "anthropic-version": "2026-10-21"},
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`, want: "want Bearer and the key"},
		{name: "anthropic, unknown version", path: "/v1/messages", header: map[string]string{"x-api-key": "k", "anthropic-version": "2020-01-01"},
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`, want: "anthropic-version"},
		{name: "anthropic, unexpected field", path: "/v1/messages", header: bearer,
			body: `{"model":"m","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`, want: "unexpected field stream"},
		{name: "anthropic, result of no call", path: "/v1/messages", header: bearer,
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"},
				{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"t","input":{}}]},
				{"role":"user","content":[{"type":"tool_result","tool_use_id":"b","content":"x"}]}]}`, want: `answers "b"`},
		{name: "anthropic, unanswered call", path: "/v1/messages", header: bearer,
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"},
				{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"t","input":{}}]},
				{"role":"user","content":"go on"}]}`, want: "does not answer the tool calls"},
		{name: "anthropic, tool without schema", path: "/v1/messages", header: bearer,
			body: `{"model":"m","max_tokens":5,"tools":[{"name":"t"}],"messages":[{"role":"user","content":"Hi"}]}`, want: "tool 0 has no input_schema"},
		{name: "openai, conversation with tools", path: "/v1/chat/completions", header: openai,
			body: `{"model":"m","max_tokens":5,"tools":[{"type":"function","function":{"name":"t","parameters":{"type":"object"}}}],"messages":[
				{"role":"system","content":"S"},{"role":"user","content":"Hi"},
				{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"t","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"a","content":""}]}`},
		{name: "openai, tool message of no call", path: "/v1/chat/completions", header: openai,
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"},{"role":"tool","tool_call_id":"a","content":"x"}]}`, want: "not a pending tool call"},
		{name: "openai, arguments not a JSON string", path: "/v1/chat/completions", header: openai,
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"},
				{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"t","arguments":{}}}]},
				{"role":"tool","tool_call_id":"a","content":"x"}]}`, want: "not a JSON object in a string"},
		{name: "openai, x-api-key", path: "/v1/chat/completions", header: map[string]string{"Authorization": "Bearer k", "x-api-key": "k"},
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`, want: "x-api-key header"},
		{name: "openai, no max_tokens", path: "/v1/chat/completions", header: openai,
			body: `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`, want: "max_tokens"},
		{name: "wrong path", path: "/v1/responses", header: openai,
			body: `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}`, want: "path /v1/responses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			srv := fakellm.New(rec, "k", func(*http.Request, fakellm.Request) fakellm.Reply { return fakellm.Reply{Text: "ok"} })
			status := post(t, srv.URL+tt.path, tt.header, tt.body)
			if tt.want == "" {
				assert.Equal(t, http.StatusOK, status, rec.errs)
				assert.Empty(t, rec.errs)
				assert.Len(t, srv.Requests(), 1)
				return
			}
			assert.Equal(t, http.StatusBadRequest, status)
			require.Len(t, rec.errs, 1)
			assert.Contains(t, rec.errs[0], tt.want)
			assert.Empty(t, srv.Requests())
		})
	}
}
