package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/internal/fakellm"
	"github.com/maestrohq/maestro/llm"
)

const key = "sk-test-0123456789abcdef"

var providers = []string{llm.Anthropic, llm.OpenAI}

func client(t *testing.T, provider, base, apiKey string) llm.Client {
	t.Helper()
	c, err := llm.New(llm.Config{Provider: provider, BaseURL: base, APIKey: apiKey, HTTPClient: &http.Client{}})
	require.NoError(t, err)
	return c
}

func reply(rep fakellm.Reply) func(*http.Request, fakellm.Request) fakellm.Reply {
	return func(*http.Request, fakellm.Request) fakellm.Reply { return rep }
}

func TestTextTurn(t *testing.T) {
	for _, p := range providers {
		t.Run(p, func(t *testing.T) {
			// The environment the SDKs would read is not used.
			t.Setenv("ANTHROPIC_API_KEY", "sk-from-env")
			t.Setenv("OPENAI_API_KEY", "sk-from-env")
			t.Setenv("OPENAI_ORG_ID", "org-from-env")
			srv := fakellm.New(t, key, reply(fakellm.Reply{Text: "Hello.", InputTokens: 12, OutputTokens: 3, CacheReadTokens: 5, CacheWriteTokens: 7}))
			temp := 0.3
			res, err := client(t, p, srv.URL, key).Send(context.Background(), llm.Request{
				Model: "m-1", System: "Be brief.", MaxTokens: 100, Temperature: &temp,
				Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}},
			})
			require.NoError(t, err)
			assert.Equal(t, llm.Response{Model: "m-1", Text: "Hello.", StopReason: map[string]string{llm.Anthropic: "end_turn", llm.OpenAI: "stop"}[p],
				Usage: llm.Usage{InputTokens: 12, OutputTokens: 3, CacheReadTokens: 5, CacheWriteTokens: 7}, HTTPStatus: 200}, res)
			reqs := srv.Requests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, p, r.Provider)
			assert.Equal(t, "m-1", r.Model)
			assert.Equal(t, 100, r.MaxTokens)
			assert.Equal(t, "Be brief.", r.System)
			assert.Equal(t, "Hi", r.User)
			assert.Equal(t, []fakellm.Message{{Role: "user", Text: "Hi"}}, r.Messages)
			assert.Empty(t, r.Tools)
			assert.NotContains(t, r.Body, "tools")
			assert.Empty(t, r.Header.Get("OpenAI-Organization"))
			if p == llm.OpenAI {
				require.NotNil(t, r.Temperature)
				assert.InDelta(t, 0.3, *r.Temperature, 1e-9)
				assert.Equal(t, "Bearer "+key, r.Header.Get("Authorization"))
			} else {
				assert.Nil(t, r.Temperature, "anthropic-version 2026-10-21 has no temperature")
				assert.Equal(t, "2026-10-21", r.Header.Get("anthropic-version"))
			}
		})
	}
}

var tools = []llm.Tool{
	{Name: "read_file", Description: "Read a file of the workspace.", Parameters: map[string]any{
		"type":       "object",
		"properties": map[string]any{"path": map[string]any{"type": "string", "description": "relative path"}},
		"required":   []any{"path"},
	}},
	{Name: "list_files", Description: "List the workspace's files.", Parameters: map[string]any{"type": "object", "properties": map[string]any{}}},
}

func TestToolLoop(t *testing.T) {
	for _, p := range providers {
		t.Run(p, func(t *testing.T) {
			srv := fakellm.New(t, key, func(_ *http.Request, r fakellm.Request) fakellm.Reply {
				if len(r.Messages) == 1 {
					return fakellm.Reply{Text: "Let me look.", ToolCalls: []fakellm.ToolCall{
						{ID: "call_1", Name: "read_file", Input: json.RawMessage(`{"path":"main.go"}`)},
						{ID: "call_2", Name: "list_files"},
					}, InputTokens: 50, OutputTokens: 20}
				}
				return fakellm.Reply{Text: "main.go is a hello world.", InputTokens: 80, OutputTokens: 9}
			})
			c := client(t, p, srv.URL, key)
			req := llm.Request{Model: "m-1", System: "You are a coding agent.", MaxTokens: 1000, Tools: tools,
				Messages: []llm.Message{{Role: llm.RoleUser, Text: "What does main.go do?"}}}
			res, err := c.Send(context.Background(), req)
			require.NoError(t, err)
			assert.Equal(t, "Let me look.", res.Text)
			assert.Equal(t, map[string]string{llm.Anthropic: "tool_use", llm.OpenAI: "tool_calls"}[p], res.StopReason)
			require.Len(t, res.ToolCalls, 2)
			assert.Equal(t, "call_1", res.ToolCalls[0].ID)
			assert.Equal(t, "read_file", res.ToolCalls[0].Name)
			assert.JSONEq(t, `{"path":"main.go"}`, string(res.ToolCalls[0].Input))
			assert.Equal(t, "list_files", res.ToolCalls[1].Name)
			assert.JSONEq(t, `{}`, string(res.ToolCalls[1].Input))

			req.Messages = append(req.Messages, res.Message(), llm.Message{Role: llm.RoleUser, Results: []llm.ToolResult{
				{CallID: "call_1", Output: "package main\nfunc main() { println(\"hi\") }"},
				{CallID: "call_2", Output: "no such directory", IsError: true},
			}})
			res, err = c.Send(context.Background(), req)
			require.NoError(t, err)
			assert.Equal(t, "main.go is a hello world.", res.Text)
			assert.Empty(t, res.ToolCalls)

			reqs := srv.Requests()
			require.Len(t, reqs, 2)
			wantTools := []fakellm.Tool{
				{Name: "read_file", Description: "Read a file of the workspace.", Parameters: map[string]any{
					"type":       "object",
					"properties": map[string]any{"path": map[string]any{"type": "string", "description": "relative path"}},
					"required":   []any{"path"},
				}},
				{Name: "list_files", Description: "List the workspace's files.", Parameters: map[string]any{"type": "object", "properties": map[string]any{}}},
			}
			for _, r := range reqs {
				assert.Equal(t, wantTools, r.Tools)
				assert.Equal(t, "You are a coding agent.", r.System)
			}
			assert.Equal(t, []fakellm.Message{{Role: "user", Text: "What does main.go do?"}}, reqs[0].Messages)
			want := []fakellm.Message{
				{Role: "user", Text: "What does main.go do?"},
				{Role: "assistant", Text: "Let me look.", ToolCalls: []fakellm.ToolCall{
					{ID: "call_1", Name: "read_file", Input: json.RawMessage(`{"path":"main.go"}`)},
					{ID: "call_2", Name: "list_files", Input: json.RawMessage(`{}`)},
				}},
				{Role: "user", Results: []fakellm.ToolResult{
					{CallID: "call_1", Output: "package main\nfunc main() { println(\"hi\") }"},
					{CallID: "call_2", Output: "no such directory", IsError: true},
				}},
			}
			if p == llm.OpenAI {
				// Chat Completions has no error flag on a tool message: the
				// text says it.
				want[2].Results[1].IsError = false
				want[2].Results[1].Output = "error: no such directory"
			}
			assert.Equal(t, want, reqs[1].Messages)

			// The exact wire of the follow-up.
			msgs := reqs[1].Body["messages"].([]any)
			if p == llm.Anthropic {
				require.Len(t, msgs, 3)
				assert.JSONEq(t, `{"role":"assistant","content":[
					{"type":"text","text":"Let me look."},
					{"type":"tool_use","id":"call_1","name":"read_file","input":{"path":"main.go"}},
					{"type":"tool_use","id":"call_2","name":"list_files","input":{}}]}`, jsonOf(t, msgs[1]))
				assert.JSONEq(t, `{"role":"user","content":[
					{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"package main\nfunc main() { println(\"hi\") }"}]},
					{"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"no such directory"}],"is_error":true}]}`, jsonOf(t, msgs[2]))
				assert.JSONEq(t, `[{"name":"read_file","description":"Read a file of the workspace.","input_schema":{"type":"object","properties":{"path":{"type":"string","description":"relative path"}},"required":["path"]}},
					{"name":"list_files","description":"List the workspace's files.","input_schema":{"type":"object","properties":{}}}]`, jsonOf(t, reqs[1].Body["tools"]))
			} else {
				require.Len(t, msgs, 5)
				assert.JSONEq(t, `{"role":"system","content":"You are a coding agent."}`, jsonOf(t, msgs[0]))
				assert.JSONEq(t, `{"role":"user","content":"What does main.go do?"}`, jsonOf(t, msgs[1]))
				assert.JSONEq(t, `{"role":"assistant","content":"Let me look.","tool_calls":[
					{"id":"call_1","type":"function","function":{"name":"read_file","arguments":"{\"path\":\"main.go\"}"}},
					{"id":"call_2","type":"function","function":{"name":"list_files","arguments":"{}"}}]}`, jsonOf(t, msgs[2]))
				assert.JSONEq(t, `{"role":"tool","tool_call_id":"call_1","content":"package main\nfunc main() { println(\"hi\") }"}`, jsonOf(t, msgs[3]))
				assert.JSONEq(t, `{"role":"tool","tool_call_id":"call_2","content":"error: no such directory"}`, jsonOf(t, msgs[4]))
				assert.JSONEq(t, `[{"type":"function","function":{"name":"read_file","description":"Read a file of the workspace.","parameters":{"type":"object","properties":{"path":{"type":"string","description":"relative path"}},"required":["path"]}}},
					{"type":"function","function":{"name":"list_files","description":"List the workspace's files.","parameters":{"type":"object","properties":{}}}}]`, jsonOf(t, reqs[1].Body["tools"]))
			}
		})
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestErrors(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name    string
		reply   fakellm.Reply
		status  int
		typ     string
		message string
		after   time.Duration
		slack   time.Duration
	}{
		{name: "401", reply: fakellm.Reply{Status: 401, ErrorType: "authentication_error", Message: "invalid key"},
			status: 401, typ: "authentication_error", message: "invalid key"},
		{name: "429 seconds", reply: fakellm.Reply{Status: 429, ErrorType: "rate_limit_error", Message: "slow down", Header: map[string]string{"Retry-After": "7"}},
			status: 429, typ: "rate_limit_error", message: "slow down", after: 7 * time.Second},
		{name: "429 HTTP date", reply: fakellm.Reply{Status: 429, ErrorType: "rate_limit_error", Message: "slow down", Header: map[string]string{"Retry-After": date}},
			status: 429, typ: "rate_limit_error", message: "slow down", after: 90 * time.Second, slack: 3 * time.Second},
		{name: "500", reply: fakellm.Reply{Status: 500, ErrorType: "api_error", Message: "internal"},
			status: 500, typ: "api_error", message: "internal"},
		{name: "404", reply: fakellm.Reply{Status: 404, ErrorType: "not_found_error", Message: "model: m-1"},
			status: 404, typ: "not_found_error", message: "model: m-1"},
		{name: "not JSON", reply: fakellm.Reply{Status: 502, RawBody: "<html>bad gateway</html>"},
			status: 502, message: "<html>bad gateway</html>"},
	}
	for _, p := range providers {
		for _, tt := range tests {
			t.Run(p+"/"+tt.name, func(t *testing.T) {
				srv := fakellm.New(t, key, reply(tt.reply))
				_, err := client(t, p, srv.URL, key).Send(context.Background(), llm.Request{Model: "m-1", MaxTokens: 10,
					Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}}})
				var apiErr *llm.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tt.status, apiErr.Status)
				assert.Equal(t, tt.typ, apiErr.Type)
				assert.Equal(t, tt.message, apiErr.Message)
				assert.InDelta(t, float64(tt.after), float64(apiErr.RetryAfter), float64(tt.slack))
				assert.Contains(t, apiErr.Error(), "HTTP "+strconv.Itoa(tt.status))
				assert.Len(t, srv.Requests(), 1, "no retry in the SDK")
			})
		}
		t.Run(p+"/not the API's answer", func(t *testing.T) {
			srv := fakellm.New(t, key, reply(fakellm.Reply{RawBody: "<html>hello</html>"}))
			_, err := client(t, p, srv.URL, key).Send(context.Background(), llm.Request{Model: "m-1", MaxTokens: 10,
				Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}}})
			var respErr *llm.ResponseError
			require.ErrorAs(t, err, &respErr)
			assert.Equal(t, 200, respErr.Status)
			assert.Equal(t, "<html>hello</html>", string(respErr.Body))
			srv = fakellm.New(t, key, reply(fakellm.Reply{RawBody: `{"ok":true}`}))
			_, err = client(t, p, srv.URL, key).Send(context.Background(), llm.Request{Model: "m-1", MaxTokens: 10,
				Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}}})
			require.ErrorAs(t, err, &respErr)
		})
		t.Run(p+"/network", func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			addr := l.Addr().String()
			require.NoError(t, l.Close())
			_, err = client(t, p, "http://"+addr, key).Send(context.Background(), llm.Request{Model: "m-1", MaxTokens: 10,
				Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}}})
			require.Error(t, err)
			var apiErr *llm.APIError
			assert.False(t, errors.As(err, &apiErr))
			var opErr *net.OpError
			assert.ErrorAs(t, err, &opErr, "the HTTP client's error, as it is")
		})
	}
}

func TestCancel(t *testing.T) {
	for _, p := range providers {
		t.Run(p, func(t *testing.T) {
			aborted := make(chan struct{})
			srv := fakellm.New(t, key, func(r *http.Request, _ fakellm.Request) fakellm.Reply {
				select {
				case <-r.Context().Done():
					close(aborted)
				case <-time.After(30 * time.Second):
				}
				return fakellm.Reply{Text: "too late"}
			})
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			start := time.Now()
			_, err := client(t, p, srv.URL, key).Send(ctx, llm.Request{Model: "m-1", MaxTokens: 10,
				Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}}})
			assert.ErrorIs(t, err, context.Canceled)
			assert.Less(t, time.Since(start), 10*time.Second)
			select {
			case <-aborted:
			case <-time.After(5 * time.Second):
				t.Fatal("the request was not aborted")
			}
		})
	}
}

func TestOpenAIWithoutKeySendsNoAuthorization(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	var auth []string
	srv := fakellm.New(t, "", func(r *http.Request, _ fakellm.Request) fakellm.Reply {
		auth = append(auth, r.Header.Get("Authorization"))
		return fakellm.Reply{Text: "ok"}
	})
	res, err := client(t, llm.OpenAI, srv.URL, "").Send(context.Background(), llm.Request{Model: "llama3", MaxTokens: 10,
		Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}}})
	require.NoError(t, err)
	assert.Equal(t, "ok", res.Text)
	assert.Equal(t, []string{""}, auth)
}

func TestBaseURLWithAndWithoutV1(t *testing.T) {
	for _, p := range providers {
		srv := fakellm.New(t, key, reply(fakellm.Reply{Text: "ok"}))
		for _, base := range []string{srv.URL, srv.URL + "/", srv.URL + "/v1", srv.URL + "/v1/"} {
			t.Run(p+" "+strings.TrimPrefix(base, srv.URL), func(t *testing.T) {
				res, err := client(t, p, base, key).Send(context.Background(), llm.Request{Model: "m", MaxTokens: 10,
					Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}}})
				require.NoError(t, err)
				assert.Equal(t, "ok", res.Text)
			})
		}
		paths := map[string]bool{}
		for _, r := range srv.Requests() {
			paths[r.Path] = true
		}
		assert.Len(t, paths, 1, p)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := llm.New(llm.Config{Provider: "gemini"})
	assert.ErrorContains(t, err, "unknown provider")
	_, err = llm.New(llm.Config{Provider: llm.OpenAI, BaseURL: "localhost:8080"})
	assert.ErrorContains(t, err, "not an absolute http or https URL")
}

func TestOpenAIRefusesARedirectToAnotherOrigin(t *testing.T) {
	other := fakellm.New(t, key, reply(fakellm.Reply{Text: "elsewhere"}))
	srv := fakellm.New(t, key, reply(fakellm.Reply{Status: http.StatusTemporaryRedirect, Header: map[string]string{"Location": other.URL + "/v1/chat/completions"}}))
	_, err := client(t, llm.OpenAI, srv.URL, key).Send(context.Background(), llm.Request{Model: "m", MaxTokens: 10,
		Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}}})
	assert.ErrorIs(t, err, llm.ErrRedirectRefused)
	assert.Empty(t, other.Requests(), "the key never left for another origin")
}

// A tool's empty output, and the user's text after the results.
func TestEmptyToolOutputAndTextAfterResults(t *testing.T) {
	for _, p := range providers {
		t.Run(p, func(t *testing.T) {
			srv := fakellm.New(t, key, reply(fakellm.Reply{Text: "done"}))
			_, err := client(t, p, srv.URL, key).Send(context.Background(), llm.Request{Model: "m", MaxTokens: 10, Tools: tools, Messages: []llm.Message{
				{Role: llm.RoleUser, Text: "Hi"},
				{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "a", Name: "list_files"}}},
				{Role: llm.RoleUser, Text: "Now finish.", Results: []llm.ToolResult{{CallID: "a"}}},
			}})
			require.NoError(t, err)
			reqs := srv.Requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, []fakellm.Message{
				{Role: "user", Text: "Hi"},
				{Role: "assistant", ToolCalls: []fakellm.ToolCall{{ID: "a", Name: "list_files", Input: json.RawMessage(`{}`)}}},
				{Role: "user", Text: "Now finish.", Results: []fakellm.ToolResult{{CallID: "a"}}},
			}, reqs[0].Messages)
			assert.Equal(t, "Now finish.", reqs[0].User)
		})
	}
}

// A large max_tokens is sent without streaming (the SDK would refuse it
// without a request timeout).
func TestLargeMaxTokens(t *testing.T) {
	for _, p := range providers {
		t.Run(p, func(t *testing.T) {
			srv := fakellm.New(t, key, reply(fakellm.Reply{Text: "ok"}))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, c := range []context.Context{ctx, context.Background()} {
				res, err := client(t, p, srv.URL, key).Send(c, llm.Request{Model: "claude-opus-4-1", MaxTokens: 64000,
					Messages: []llm.Message{{Role: llm.RoleUser, Text: "Hi"}}})
				require.NoError(t, err)
				assert.Equal(t, "ok", res.Text)
			}
			assert.Equal(t, 64000, srv.Requests()[0].MaxTokens)
		})
	}
}
