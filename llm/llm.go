// Package llm sends one turn of a conversation with tools to a model API,
// the Anthropic Messages API or the OpenAI Chat Completions API (or an
// OpenAI-compatible server), through the providers' official SDKs.
//
// It is provider-neutral: a Request carries the conversation so far (user
// turns, assistant turns with their tool calls, user turns answering them)
// and the tools the model may call; the Response is the model's next turn.
// A caller runs a tool loop by appending the response as an assistant
// Message, running its tool calls, and sending their results in a user
// Message.
//
// The SDKs do not retry (the caller's retry policy does) and read nothing
// from the environment: the key, the base URL and the HTTP client are the
// Config's.
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Provider names.
const (
	Anthropic = "anthropic"
	OpenAI    = "openai"
)

// Default base URLs, used when Config.BaseURL is empty.
const (
	DefaultAnthropicURL = "https://api.anthropic.com"
	DefaultOpenAIURL    = "https://api.openai.com"
)

// Message roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// MaxResponseBytes caps an answer read into memory.
const MaxResponseBytes = 64 << 20

// Tool is a tool the model may call.
type Tool struct {
	// Name is the tool's name, as the model calls it.
	Name string
	// Description tells the model what the tool does and when to use it.
	Description string
	// Parameters is the JSON schema (an object schema) of the tool's input.
	Parameters map[string]any
}

// ToolCall is the model's call of a tool.
type ToolCall struct {
	// ID identifies the call; its result names it.
	ID string
	// Name is the tool's name.
	Name string
	// Input is the call's arguments, a JSON value (an object, normally; an
	// OpenAI-compatible server's arguments that are not JSON come as a JSON
	// string).
	Input json.RawMessage
}

// ToolResult is the result of a tool call, sent back to the model.
type ToolResult struct {
	// CallID is the ToolCall.ID answered.
	CallID string
	// Output is what the tool returned (or its error message).
	Output string
	// IsError marks a failed call (Anthropic's is_error; Chat Completions
	// has no such flag: the output says it).
	IsError bool
}

// Message is one turn of the conversation.
type Message struct {
	// Role is RoleUser or RoleAssistant.
	Role string
	// Text is the turn's text (optional in a turn with tool calls or results).
	Text string
	// ToolCalls are an assistant turn's tool calls.
	ToolCalls []ToolCall
	// Results are a user turn's answers to the previous assistant turn's
	// tool calls.
	Results []ToolResult
}

// Request is one call of the model.
type Request struct {
	// Model is the provider's model name.
	Model string
	// System is the system prompt (optional).
	System string
	// Messages is the conversation so far, starting with a user turn.
	Messages []Message
	// Tools are the tools the model may call (optional).
	Tools []Tool
	// MaxTokens caps the answer's length.
	MaxTokens int
	// Temperature is the sampling temperature; nil leaves the provider's
	// default. The Anthropic Messages API of the SDK's version
	// (anthropic-version 2026-10-21) has no temperature: it is not sent there.
	Temperature *float64
}

// Usage is the tokens a call used.
type Usage struct {
	// InputTokens are the prompt's tokens not read from or written to the
	// provider's cache (OpenAI's prompt_tokens less its cached ones).
	InputTokens int
	// OutputTokens are the answer's tokens.
	OutputTokens int
	// CacheReadTokens are prompt tokens read from the provider's cache.
	CacheReadTokens int
	// CacheWriteTokens are prompt tokens written to the provider's cache.
	CacheWriteTokens int
}

// Response is the model's turn.
type Response struct {
	// Model is the model that answered, as the provider names it.
	Model string
	// Text is the answer's text (its text blocks joined).
	Text string
	// StopReason is the provider's stop or finish reason, as it sends it
	// (e.g. "end_turn", "tool_use", "max_tokens"; "stop", "tool_calls",
	// "length").
	StopReason string
	// ToolCalls are the tools the model calls, to answer in the next turn.
	ToolCalls []ToolCall
	// Usage is the tokens used.
	Usage Usage
	// HTTPStatus is the answer's HTTP status (a 2xx).
	HTTPStatus int
}

// Message returns the response as the assistant turn to append to the
// conversation.
func (r Response) Message() Message {
	return Message{Role: RoleAssistant, Text: r.Text, ToolCalls: r.ToolCalls}
}

// Client sends requests to a model API.
type Client interface {
	// Send sends one request and returns the model's turn. An error answer
	// is an *APIError, an answer that is not the API's is a *ResponseError,
	// a cancelled ctx returns ctx.Err(), and a failure to reach the server
	// is returned as the HTTP client or the SDK returned it.
	Send(ctx context.Context, r Request) (Response, error)
}

// Config configures a Client.
type Config struct {
	// Provider is Anthropic or OpenAI.
	Provider string
	// BaseURL is the API's base URL, with or without a trailing /v1 (empty:
	// the provider's).
	BaseURL string
	// APIKey is the key. For OpenAI, an empty key sends no Authorization
	// header (a local OpenAI-compatible server).
	APIKey string
	// HTTPClient makes the requests (nil: the SDK's default).
	HTTPClient *http.Client
}

// New returns a Client of the provider.
func New(c Config) (Client, error) {
	switch c.Provider {
	case Anthropic:
		base, err := apiBase(c.BaseURL, DefaultAnthropicURL, false)
		if err != nil {
			return nil, err
		}
		return newAnthropic(c, base), nil
	case OpenAI:
		base, err := apiBase(c.BaseURL, DefaultOpenAIURL, true)
		if err != nil {
			return nil, err
		}
		return newOpenAI(c, base), nil
	default:
		return nil, fmt.Errorf("llm: unknown provider %q (%s or %s)", c.Provider, Anthropic, OpenAI)
	}
}

// apiBase normalises a base URL given with or without /v1 to what the SDK
// expects: without /v1 (Anthropic's SDK adds v1/messages), or with it
// (OpenAI's SDK adds chat/completions). The result ends in a slash.
func apiBase(raw, def string, withV1 bool) (string, error) {
	if strings.TrimSpace(raw) == "" {
		raw = def
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("llm: base URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("llm: base URL %q is not an absolute http or https URL", u.Redacted())
	}
	p := strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/v1")
	if withV1 {
		p += "/v1"
	}
	u.Path, u.RawPath = p+"/", ""
	return u.String(), nil
}

// APIError is an error answer of the API (an HTTP status of 300 or more).
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Type is the error's type from the body ({"error": {"type"}}), if any.
	Type string
	// Message is the error's message from the body ({"error":
	// {"message"}}), or the body itself when it is not in that shape.
	Message string
	// RetryAfter is the delay the server asks for before a retry
	// (Retry-After, in seconds or as an HTTP date, or retry-after-ms); zero
	// when none.
	RetryAfter time.Duration
	// Err is the SDK's error, if any.
	Err error
}

// Error describes the answer.
func (e *APIError) Error() string {
	s := "HTTP " + strconv.Itoa(e.Status)
	if t := http.StatusText(e.Status); t != "" {
		s += " " + t
	}
	if d := e.Detail(); d != "" {
		s += ": " + d
	}
	return s
}

// Detail is "type: message", or the message without a type.
func (e *APIError) Detail() string {
	if e.Type != "" && e.Message != "" {
		return e.Type + ": " + e.Message
	}
	return e.Message
}

// Unwrap returns the SDK's error.
func (e *APIError) Unwrap() error { return e.Err }

// ResponseError is a successful HTTP answer that is not the API's (a
// server that is not the provider's API, a proxy's page).
type ResponseError struct {
	// Status is the HTTP status code.
	Status int
	// Body is the answer's body.
	Body []byte
	// Err is the decoding error, if any.
	Err error
}

// Error describes the answer.
func (e *ResponseError) Error() string {
	s := fmt.Sprintf("HTTP %d: the answer is not the API's", e.Status)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the decoding error.
func (e *ResponseError) Unwrap() error { return e.Err }

// capture records the HTTP answer of one call (status, headers, body), for
// error answers whatever their shape and for answers the SDK cannot decode.
type capture struct {
	mu     sync.Mutex
	status int
	header http.Header
	body   []byte
}

// middleware reads the answer's body (up to MaxResponseBytes) and hands the
// SDK a copy.
func (c *capture) middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	resp, err := next(req)
	if err != nil || resp == nil {
		return resp, err
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	resp.ContentLength = int64(len(raw))
	c.mu.Lock()
	c.status, c.header, c.body = resp.StatusCode, resp.Header, raw
	c.mu.Unlock()
	return resp, nil
}

// result maps the SDK's outcome: ctx's error when it is done, an
// *APIError for an error status, a *ResponseError for an answer the SDK
// could not decode or that fails ok, the SDK's error when no answer came.
func (c *capture) result(ctx context.Context, sdkErr error, ok bool) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c.mu.Lock()
	status, header, body := c.status, c.header, c.body
	c.mu.Unlock()
	switch {
	case status == 0:
		return sdkErr
	case status >= 300:
		e := &APIError{Status: status, Err: sdkErr, RetryAfter: retryAfter(header, time.Now())}
		e.Type, e.Message = errorDetail(body)
		return e
	case sdkErr != nil || !ok:
		return &ResponseError{Status: status, Body: body, Err: sdkErr}
	}
	return nil
}

// statusCode is the answer's HTTP status.
func (c *capture) statusCode() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// errorDetail extracts the type and message of either API's error body
// ({"error": {"type", "message"}}), or returns the body as the message.
func errorDetail(raw []byte) (typ, msg string) {
	var e struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
		return e.Error.Type, e.Error.Message
	}
	return "", strings.TrimSpace(string(raw))
}

// retryAfter reads retry-after-ms or Retry-After (seconds or an HTTP date).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if ms, err := strconv.ParseFloat(strings.TrimSpace(h.Get("retry-after-ms")), 64); err == nil && ms > 0 {
		return time.Duration(ms * float64(time.Millisecond))
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// input returns a tool call's input as JSON for the SDKs ({} when empty).
func input(raw json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("{}")
	}
	return raw
}

// ErrRedirectRefused is a redirect to another origin that the SDK refused
// to follow (the OpenAI SDK keeps credentialed requests on the base URL's
// origin). It is wrapped with the SDK's error; the target was not reached.
var ErrRedirectRefused = errors.New("llm: the SDK refused to follow a redirect to another origin than the base URL's")

// errNoMessages is a request without a conversation.
var errNoMessages = errors.New("llm: the request has no messages")
