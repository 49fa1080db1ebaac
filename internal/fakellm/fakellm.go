// Package fakellm is a local fake of the Anthropic Messages API and the
// OpenAI Chat Completions API for tests: an httptest server on 127.0.0.1
// that checks each request strictly (method, path, the key header, the
// anthropic-version, model, max_tokens, system, the conversation and its
// tool calls and results, tools) in each API's documented wire format, as
// the official SDKs send it, and answers in each API's real response shape
// (text, tool calls), or with an error answer the test chooses. Headers the
// SDKs add (X-Stainless-*, User-Agent, Accept) are not checked.
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
	// System is the system prompt (Anthropic's system field, as a string or
	// its text blocks joined; OpenAI's system message).
	System string
	// User is the text of the last user message.
	User string
	// Messages is the conversation, decoded from either API's wire format
	// (OpenAI's tool messages become the Results of a user Message).
	Messages []Message
	// Tools are the tools offered.
	Tools []Tool
	// Body is the decoded JSON body.
	Body map[string]any
}

// Message is one turn of the conversation as the model received it.
type Message struct {
	Role      string
	Text      string
	ToolCalls []ToolCall
	Results   []ToolResult
}

// Tool is a tool offered to the model.
type Tool struct {
	Name        string
	Description string
	Parameters  map[string]any
}

// ToolCall is a tool call, in a reply or echoed in an assistant message.
type ToolCall struct {
	ID   string
	Name string
	// Input is the arguments, a JSON object.
	Input json.RawMessage
}

// ToolResult is a tool call's result sent back to the model.
type ToolResult struct {
	CallID  string
	Output  string
	IsError bool
}

// Reply is what the fake answers. A zero Status is 200 with Text (and
// ToolCalls) in the provider's response shape; another status sends
// ErrorType and Message in the provider's error shape (or RawBody when
// set).
type Reply struct {
	Status           int
	Text             string
	ToolCalls        []ToolCall
	InputTokens      int
	OutputTokens     int
	CacheReadTokens  int
	CacheWriteTokens int
	StopReason       string
	Header           map[string]string
	ErrorType        string
	Message          string
	RawBody          string
}

// AnthropicVersions are the anthropic-version headers the fake accepts: the
// original Messages API version and the one the official Go SDK v2 sends.
var AnthropicVersions = []string{"2023-06-01", "2026-10-21"}

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

// checker collects a request's problems.
type checker struct{ problems []string }

func (c *checker) bad(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// fields checks that object m has the required keys and no others than
// required and optional.
func (c *checker) fields(what string, m map[string]any, required, optional []string) {
	for _, k := range required {
		if _, ok := m[k]; !ok {
			c.bad("%s has no %s", what, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(required, k) && !slices.Contains(optional, k) {
			c.bad("%s has an unexpected field %s", what, k)
		}
	}
}

// text returns a content that is a non-empty string or a non-empty list of
// text blocks ({type: "text", text}), joined.
func (c *checker) text(what string, v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			c.bad("%s is empty", what)
		}
		return v
	case []any:
		if len(v) == 0 {
			c.bad("%s is an empty list", what)
		}
		var parts []string
		for i, b := range v {
			m, _ := b.(map[string]any)
			c.fields(fmt.Sprintf("%s block %d", what, i), m, []string{"text", "type"}, nil)
			t, _ := m["text"].(string)
			if m["type"] != "text" || t == "" {
				c.bad("%s block %d is not a non-empty text block", what, i)
			}
			parts = append(parts, t)
		}
		return strings.Join(parts, "")
	default:
		c.bad("%s is %T, want a string or text blocks", what, v)
		return ""
	}
}

// object returns v as a JSON object.
func (c *checker) object(what string, v any) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		c.bad("%s is %T, want an object", what, v)
	}
	return m
}

// rawObject returns a JSON object's encoding.
func rawObject(m map[string]any) json.RawMessage {
	b, _ := json.Marshal(m)
	return b
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Path: r.URL.Path, Header: r.Header.Clone()}
	c := &checker{}
	if r.Method != http.MethodPost {
		c.bad("method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		c.bad("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(raw, &req.Body); err != nil {
		c.bad("body is not a JSON object: %v", err)
	}
	req.Model, _ = req.Body["model"].(string)
	if req.Model == "" {
		c.bad("no model")
	}
	if mt, ok := req.Body["max_tokens"].(float64); !ok || mt <= 0 || mt != float64(int(mt)) {
		c.bad("max_tokens %v, want a positive integer", req.Body["max_tokens"])
	} else {
		req.MaxTokens = int(mt)
	}
	if v, ok := req.Body["temperature"]; ok {
		f, isNum := v.(float64)
		if !isNum {
			c.bad("temperature %v is not a number", v)
		}
		req.Temperature = &f
	}
	msgs, ok := req.Body["messages"].([]any)
	if !ok || len(msgs) == 0 {
		c.bad("messages is not a non-empty list")
	}
	switch r.URL.Path {
	case "/v1/messages":
		req.Provider = Anthropic
		apiKey, auth := r.Header.Get("x-api-key"), r.Header.Get("Authorization")
		switch {
		case apiKey != "" && auth != "":
			c.bad("both x-api-key and Authorization are sent")
		case apiKey == "" && auth == "":
			c.bad("no key: neither x-api-key nor Authorization")
		case apiKey != "" && apiKey != s.key:
			c.bad("x-api-key %q, want the key", apiKey)
		case auth != "" && auth != "Bearer "+s.key:
			c.bad("Authorization %q, want Bearer and the key", auth)
		}
		if v := r.Header.Get("anthropic-version"); !slices.Contains(AnthropicVersions, v) {
			c.bad("anthropic-version %q, want one of %v", v, AnthropicVersions)
		}
		c.fields("body", req.Body, []string{"max_tokens", "messages", "model"}, []string{"system", "temperature", "tools"})
		if v, ok := req.Body["system"]; ok {
			req.System = c.text("system", v)
		}
		req.Tools = c.anthropicTools(req.Body["tools"])
		req.Messages = c.anthropicMessages(msgs)
	case "/v1/chat/completions":
		req.Provider = OpenAI
		switch got := r.Header.Get("Authorization"); {
		case s.key == "" && got != "":
			c.bad("Authorization %q sent to a server that wants none", got)
		case s.key != "" && got != "Bearer "+s.key:
			c.bad("Authorization %q, want Bearer and the key", got)
		}
		if r.Header.Get("x-api-key") != "" {
			c.bad("an x-api-key header is sent to an OpenAI-compatible API")
		}
		c.fields("body", req.Body, []string{"max_tokens", "messages", "model"}, []string{"temperature", "tools"})
		req.Tools = c.openAITools(req.Body["tools"])
		req.System, req.Messages = c.openAIMessages(msgs)
	default:
		c.bad("path %s, want /v1/messages or /v1/chat/completions", r.URL.Path)
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		if req.Messages[i].Role == "user" {
			req.User = req.Messages[i].Text
			break
		}
	}
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role != "user" {
		c.bad("the last message is not the user's")
	}
	if len(c.problems) > 0 {
		s.t.Errorf("fakellm: malformed request to %s: %s", r.URL.Path, strings.Join(c.problems, "; "))
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
		body = anthropicReply(req, rep)
	default:
		body = openAIReply(req, rep)
	}
	_ = json.NewEncoder(w).Encode(body)
}

// anthropicTools checks tools: [{name, description, input_schema}].
func (c *checker) anthropicTools(v any) []Tool {
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		c.bad("tools is not a non-empty list")
	}
	var tools []Tool
	for i, t := range list {
		m := c.object(fmt.Sprintf("tool %d", i), t)
		c.fields(fmt.Sprintf("tool %d", i), m, []string{"input_schema", "name"}, []string{"description"})
		tool := Tool{}
		tool.Name, _ = m["name"].(string)
		tool.Description, _ = m["description"].(string)
		tool.Parameters = c.object(fmt.Sprintf("tool %d input_schema", i), m["input_schema"])
		if tool.Name == "" {
			c.bad("tool %d has no name", i)
		}
		if tool.Parameters["type"] != "object" {
			c.bad("tool %d input_schema type %v, want object", i, tool.Parameters["type"])
		}
		tools = append(tools, tool)
	}
	return tools
}

// anthropicMessages checks messages: alternating user and assistant turns,
// starting with the user's; content a string or blocks (text, tool_use in
// the assistant's, tool_result in the user's, answering every tool_use of
// the turn before and before any text).
func (c *checker) anthropicMessages(msgs []any) []Message {
	var out []Message
	var pending []string // tool_use ids the next user turn answers
	for i, raw := range msgs {
		what := fmt.Sprintf("message %d", i)
		m := c.object(what, raw)
		c.fields(what, m, []string{"content", "role"}, nil)
		role, _ := m["role"].(string)
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if role != want {
			c.bad("%s has role %q, want %s", what, role, want)
		}
		msg := Message{Role: role}
		blocks, isList := m["content"].([]any)
		if !isList {
			msg.Text = c.text(what+" content", m["content"])
			if len(pending) > 0 {
				c.bad("%s does not answer the tool calls %v", what, pending)
			}
			pending = nil
			out = append(out, msg)
			continue
		}
		if len(blocks) == 0 {
			c.bad("%s content is an empty list", what)
		}
		var texts []string
		for j, b := range blocks {
			bw := fmt.Sprintf("%s block %d", what, j)
			bm := c.object(bw, b)
			switch typ, _ := bm["type"].(string); {
			case typ == "text":
				c.fields(bw, bm, []string{"text", "type"}, nil)
				t, _ := bm["text"].(string)
				if t == "" {
					c.bad("%s is an empty text block", bw)
				}
				texts = append(texts, t)
			case typ == "tool_use" && role == "assistant":
				c.fields(bw, bm, []string{"id", "input", "name", "type"}, nil)
				call := ToolCall{}
				call.ID, _ = bm["id"].(string)
				call.Name, _ = bm["name"].(string)
				call.Input = rawObject(c.object(bw+" input", bm["input"]))
				if call.ID == "" || call.Name == "" {
					c.bad("%s has no id or name", bw)
				}
				msg.ToolCalls = append(msg.ToolCalls, call)
			case typ == "tool_result" && role == "user":
				c.fields(bw, bm, []string{"tool_use_id", "type"}, []string{"content", "is_error"})
				if len(texts) > 0 {
					c.bad("%s: a tool_result after text", bw)
				}
				res := ToolResult{}
				res.CallID, _ = bm["tool_use_id"].(string)
				if v, ok := bm["content"]; ok {
					if s, isStr := v.(string); isStr {
						res.Output = s // an empty output is allowed
					} else {
						res.Output = c.text(bw+" content", v)
					}
				}
				if v, ok := bm["is_error"]; ok {
					b, isBool := v.(bool)
					if !isBool {
						c.bad("%s is_error %v is not a boolean", bw, v)
					}
					res.IsError = b
				}
				if !slices.Contains(pending, res.CallID) {
					c.bad("%s answers %q, not a tool call of the turn before (%v)", bw, res.CallID, pending)
				}
				msg.Results = append(msg.Results, res)
			default:
				c.bad("%s has type %q, not allowed in a %s message", bw, typ, role)
			}
		}
		msg.Text = strings.Join(texts, "")
		if role == "user" {
			if len(msg.Results) != len(pending) {
				c.bad("%s answers %d of the %d tool calls %v", what, len(msg.Results), len(pending), pending)
			}
			pending = nil
		} else {
			pending = nil
			for _, call := range msg.ToolCalls {
				pending = append(pending, call.ID)
			}
		}
		out = append(out, msg)
	}
	return out
}

// openAITools checks tools: [{type: "function", function: {name,
// description, parameters}}].
func (c *checker) openAITools(v any) []Tool {
	if v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		c.bad("tools is not a non-empty list")
	}
	var tools []Tool
	for i, t := range list {
		what := fmt.Sprintf("tool %d", i)
		m := c.object(what, t)
		c.fields(what, m, []string{"function", "type"}, nil)
		if m["type"] != "function" {
			c.bad("%s has type %v, want function", what, m["type"])
		}
		f := c.object(what+" function", m["function"])
		c.fields(what+" function", f, []string{"name"}, []string{"description", "parameters"})
		tool := Tool{}
		tool.Name, _ = f["name"].(string)
		tool.Description, _ = f["description"].(string)
		if p, ok := f["parameters"]; ok {
			tool.Parameters = c.object(what+" parameters", p)
		}
		if tool.Name == "" {
			c.bad("%s has no name", what)
		}
		tools = append(tools, tool)
	}
	return tools
}

// openAIMessages checks messages: an optional system message, then user
// and assistant turns; an assistant turn with tool_calls is followed by a
// tool message answering each (tool_call_id), then possibly the user's.
func (c *checker) openAIMessages(msgs []any) (string, []Message) {
	var (
		system  string
		out     []Message
		pending []string
	)
	for i, raw := range msgs {
		what := fmt.Sprintf("message %d", i)
		m := c.object(what, raw)
		role, _ := m["role"].(string)
		last := len(out) - 1
		switch role {
		case "system":
			c.fields(what, m, []string{"content", "role"}, nil)
			if i != 0 {
				c.bad("%s: a system message after the first", what)
			}
			system = c.text(what+" content", m["content"])
		case "user":
			c.fields(what, m, []string{"content", "role"}, nil)
			text := c.text(what+" content", m["content"])
			if len(pending) > 0 {
				c.bad("%s: the tool calls %v are not answered", what, pending)
			}
			if last >= 0 && out[last].Role == "user" && len(out[last].Results) > 0 && out[last].Text == "" {
				out[last].Text = text // the user's text after the tool results
			} else {
				if last >= 0 && out[last].Role == "user" {
					c.bad("%s: two user turns in a row", what)
				}
				out = append(out, Message{Role: "user", Text: text})
			}
		case "assistant":
			c.fields(what, m, []string{"role"}, []string{"content", "tool_calls"})
			if last < 0 || out[last].Role != "user" || len(pending) > 0 {
				c.bad("%s: an assistant turn not after a user turn", what)
			}
			msg := Message{Role: "assistant"}
			if v, ok := m["content"]; ok && v != nil {
				msg.Text = c.text(what+" content", v)
			}
			if v, ok := m["tool_calls"]; ok {
				calls, isList := v.([]any)
				if !isList || len(calls) == 0 {
					c.bad("%s tool_calls is not a non-empty list", what)
				}
				for j, tc := range calls {
					cw := fmt.Sprintf("%s tool call %d", what, j)
					cm := c.object(cw, tc)
					c.fields(cw, cm, []string{"function", "id", "type"}, nil)
					if cm["type"] != "function" {
						c.bad("%s has type %v, want function", cw, cm["type"])
					}
					f := c.object(cw+" function", cm["function"])
					c.fields(cw+" function", f, []string{"arguments", "name"}, nil)
					call := ToolCall{}
					call.ID, _ = cm["id"].(string)
					call.Name, _ = f["name"].(string)
					args, isStr := f["arguments"].(string)
					var obj map[string]any
					if !isStr || json.Unmarshal([]byte(args), &obj) != nil {
						c.bad("%s arguments %v is not a JSON object in a string", cw, f["arguments"])
					}
					call.Input = rawObject(obj)
					if call.ID == "" || call.Name == "" {
						c.bad("%s has no id or name", cw)
					}
					msg.ToolCalls = append(msg.ToolCalls, call)
					pending = append(pending, call.ID)
				}
			}
			if msg.Text == "" && len(msg.ToolCalls) == 0 {
				c.bad("%s has neither content nor tool_calls", what)
			}
			out = append(out, msg)
		case "tool":
			c.fields(what, m, []string{"content", "role", "tool_call_id"}, nil)
			res := ToolResult{}
			res.CallID, _ = m["tool_call_id"].(string)
			if s, isStr := m["content"].(string); isStr {
				res.Output = s
			} else {
				res.Output = c.text(what+" content", m["content"])
			}
			k := slices.Index(pending, res.CallID)
			if k < 0 {
				c.bad("%s answers %q, not a pending tool call (%v)", what, res.CallID, pending)
			} else {
				pending = slices.Delete(pending, k, k+1)
			}
			if last >= 0 && out[last].Role == "user" && len(out[last].Results) > 0 && out[last].Text == "" {
				out[last].Results = append(out[last].Results, res)
			} else {
				out = append(out, Message{Role: "user", Results: []ToolResult{res}})
			}
		default:
			c.bad("%s has role %q", what, role)
		}
	}
	if len(pending) > 0 {
		c.bad("the tool calls %v are not answered", pending)
	}
	if len(out) == 0 || out[0].Role != "user" {
		c.bad("the conversation does not start with a user message")
	}
	return system, out
}

func anthropicReply(req Request, rep Reply) map[string]any {
	var content []any
	if rep.Text != "" || len(rep.ToolCalls) == 0 {
		content = append(content, map[string]any{"type": "text", "text": rep.Text})
	}
	for _, call := range rep.ToolCalls {
		content = append(content, map[string]any{"type": "tool_use", "id": call.ID, "name": call.Name, "input": inputOf(call)})
	}
	stop := rep.StopReason
	switch {
	case stop != "":
	case len(rep.ToolCalls) > 0:
		stop = "tool_use"
	default:
		stop = "end_turn"
	}
	usage := map[string]any{"input_tokens": rep.InputTokens, "output_tokens": rep.OutputTokens}
	if rep.CacheReadTokens > 0 || rep.CacheWriteTokens > 0 {
		usage["cache_read_input_tokens"] = rep.CacheReadTokens
		usage["cache_creation_input_tokens"] = rep.CacheWriteTokens
	}
	return map[string]any{
		"id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": req.Model,
		"content":       content,
		"stop_reason":   stop,
		"stop_sequence": nil,
		"usage":         usage,
	}
}

func openAIReply(req Request, rep Reply) map[string]any {
	stop := rep.StopReason
	switch {
	case stop != "":
	case len(rep.ToolCalls) > 0:
		stop = "tool_calls"
	default:
		stop = "stop"
	}
	msg := map[string]any{"role": "assistant", "content": rep.Text, "refusal": nil}
	if len(rep.ToolCalls) > 0 {
		if rep.Text == "" {
			msg["content"] = nil
		}
		var calls []any
		for _, call := range rep.ToolCalls {
			args, _ := json.Marshal(inputOf(call))
			calls = append(calls, map[string]any{"id": call.ID, "type": "function",
				"function": map[string]any{"name": call.Name, "arguments": string(args)}})
		}
		msg["tool_calls"] = calls
	}
	// OpenAI's prompt_tokens include the cached ones (Reply's InputTokens
	// do not, as Anthropic counts them).
	prompt := rep.InputTokens + rep.CacheReadTokens + rep.CacheWriteTokens
	usage := map[string]any{"prompt_tokens": prompt, "completion_tokens": rep.OutputTokens,
		"total_tokens": prompt + rep.OutputTokens}
	if rep.CacheReadTokens > 0 || rep.CacheWriteTokens > 0 {
		usage["prompt_tokens_details"] = map[string]any{"cached_tokens": rep.CacheReadTokens, "cache_write_tokens": rep.CacheWriteTokens}
	}
	return map[string]any{
		"id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283, "model": req.Model,
		"choices": []any{map[string]any{
			"index": 0, "message": msg, "logprobs": nil, "finish_reason": stop,
		}},
		"usage": usage,
	}
}

// inputOf is a reply's tool call input as a JSON value ({} when empty).
func inputOf(call ToolCall) any {
	var v any = map[string]any{}
	if len(call.Input) > 0 {
		_ = json.Unmarshal(call.Input, &v)
	}
	return v
}
