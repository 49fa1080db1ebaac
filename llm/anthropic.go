package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// anthropicClient calls the Messages API.
type anthropicClient struct {
	client anthropic.Client
}

func newAnthropic(c Config, base string) *anthropicClient {
	opts := []option.RequestOption{
		// Nothing from ANTHROPIC_* variables or profiles on disk.
		option.WithoutEnvironmentDefaults(),
		option.WithBaseURL(base),
		option.WithMaxRetries(0),
	}
	if c.APIKey != "" {
		opts = append(opts, option.WithAPIKey(c.APIKey))
	}
	if c.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(c.HTTPClient))
	}
	return &anthropicClient{client: anthropic.NewClient(opts...)}
}

// Send implements Client.
func (a *anthropicClient) Send(ctx context.Context, r Request) (Response, error) {
	if len(r.Messages) == 0 {
		return Response{}, errNoMessages
	}
	p := anthropic.MessageNewParams{Model: r.Model, MaxTokens: int64(r.MaxTokens)}
	if r.System != "" {
		p.System = []anthropic.TextBlockParam{{Text: r.System}}
	}
	for _, m := range r.Messages {
		var blocks []anthropic.ContentBlockParamUnion
		switch m.Role {
		case RoleUser:
			// Tool results come first in the user turn.
			for _, res := range m.Results {
				blocks = append(blocks, toolResult(res))
			}
			if m.Text != "" {
				blocks = append(blocks, anthropic.NewTextBlock(m.Text))
			}
			p.Messages = append(p.Messages, anthropic.NewUserMessage(blocks...))
		case RoleAssistant:
			if m.Text != "" {
				blocks = append(blocks, anthropic.NewTextBlock(m.Text))
			}
			for _, call := range m.ToolCalls {
				blocks = append(blocks, anthropic.NewToolUseBlock(call.ID, input(call.Input), call.Name))
			}
			p.Messages = append(p.Messages, anthropic.NewAssistantMessage(blocks...))
		default:
			return Response{}, fmt.Errorf("llm: message role %q (want %s or %s)", m.Role, RoleUser, RoleAssistant)
		}
	}
	for _, t := range r.Tools {
		tp := anthropic.ToolParam{Name: t.Name, InputSchema: inputSchema(t.Parameters)}
		if t.Description != "" {
			tp.Description = anthropic.String(t.Description)
		}
		p.Tools = append(p.Tools, anthropic.ToolUnionParam{OfTool: &tp})
	}

	// The SDK refuses a non-streaming call that may take longer than its
	// default timeout unless one is set: the caller's deadline (or a day)
	// bounds the call instead.
	timeout := 24 * time.Hour
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Second)
	}
	var c capture
	msg, err := a.client.Messages.New(ctx, p, option.WithMiddleware(c.middleware), option.WithRequestTimeout(timeout))
	if err := c.result(ctx, err, err == nil && msg != nil && msg.Type == "message"); err != nil {
		return Response{}, err
	}
	res := Response{
		HTTPStatus: c.statusCode(),
		Model:      msg.Model,
		StopReason: string(msg.StopReason),
		Usage: Usage{
			InputTokens:      int(msg.Usage.InputTokens),
			OutputTokens:     int(msg.Usage.OutputTokens),
			CacheReadTokens:  int(msg.Usage.CacheReadInputTokens),
			CacheWriteTokens: int(msg.Usage.CacheCreationInputTokens),
		},
	}
	var text strings.Builder
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			res.ToolCalls = append(res.ToolCalls, ToolCall{ID: b.ID, Name: b.Name, Input: input(b.Input)})
		}
	}
	res.Text = text.String()
	return res, nil
}

// toolResult is a tool_result block; an empty output has no content (the
// API refuses an empty text block), and is_error is sent when set.
func toolResult(res ToolResult) anthropic.ContentBlockParamUnion {
	b := anthropic.ToolResultBlockParam{ToolUseID: res.CallID}
	if res.Output != "" {
		b.Content = []anthropic.ToolResultBlockParamContentUnion{{OfText: &anthropic.TextBlockParam{Text: res.Output}}}
	}
	if res.IsError {
		b.IsError = anthropic.Bool(true)
	}
	return anthropic.ContentBlockParamUnion{OfToolResult: &b}
}

// inputSchema is a tool's JSON schema as the SDK takes it.
func inputSchema(schema map[string]any) anthropic.ToolInputSchemaParam {
	s := anthropic.ToolInputSchemaParam{ExtraFields: map[string]any{}}
	for k, v := range schema {
		switch k {
		case "type":
		case "properties":
			s.Properties = v
		case "required":
			s.Required = stringList(v)
		default:
			s.ExtraFields[k] = v
		}
	}
	if len(s.ExtraFields) == 0 {
		s.ExtraFields = nil
	}
	return s
}

// stringList returns a JSON schema's list of strings ([]string or []any).
func stringList(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	// Anything else goes through JSON.
	raw, _ := json.Marshal(v)
	var out []string
	_ = json.Unmarshal(raw, &out)
	return out
}
