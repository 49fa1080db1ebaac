package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// openAIClient calls the Chat Completions API.
type openAIClient struct {
	chat openai.ChatCompletionService
}

func newOpenAI(c Config, base string) *openAIClient {
	opts := []option.RequestOption{
		option.WithBaseURL(base),
		option.WithMaxRetries(0),
	}
	// Without a key, no Authorization header (the SDK sends one only for a
	// non-empty key).
	if c.APIKey != "" {
		opts = append(opts, option.WithAPIKey(c.APIKey))
	}
	if c.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(c.HTTPClient))
	}
	// The service alone, not openai.NewClient: that one reads OPENAI_API_KEY,
	// OPENAI_ORG_ID, OPENAI_PROJECT_ID, OPENAI_CUSTOM_HEADERS... from the
	// environment and would send them to whatever server the base URL names.
	return &openAIClient{chat: openai.NewChatCompletionService(opts...)}
}

// Send implements Client.
func (o *openAIClient) Send(ctx context.Context, r Request) (Response, error) {
	if len(r.Messages) == 0 {
		return Response{}, errNoMessages
	}
	p := openai.ChatCompletionNewParams{Model: r.Model, MaxTokens: openai.Int(int64(r.MaxTokens))}
	if r.Temperature != nil {
		p.Temperature = openai.Float(*r.Temperature)
	}
	if r.System != "" {
		p.Messages = append(p.Messages, openai.SystemMessage(r.System))
	}
	for _, m := range r.Messages {
		switch m.Role {
		case RoleUser:
			// Tool results are tool messages, before the user's text.
			for _, res := range m.Results {
				out := res.Output
				if res.IsError {
					// Chat Completions has no error flag on tool results:
					// say it in the text.
					out = "error: " + out
				}
				p.Messages = append(p.Messages, openai.ToolMessage(out, res.CallID))
			}
			if m.Text != "" || len(m.Results) == 0 {
				p.Messages = append(p.Messages, openai.UserMessage(m.Text))
			}
		case RoleAssistant:
			am := openai.ChatCompletionAssistantMessageParam{}
			if m.Text != "" {
				am.Content.OfString = openai.String(m.Text)
			}
			for _, call := range m.ToolCalls {
				am.ToolCalls = append(am.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
						ID: call.ID,
						Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{
							Name: call.Name, Arguments: string(input(call.Input)),
						},
					},
				})
			}
			p.Messages = append(p.Messages, openai.ChatCompletionMessageParamUnion{OfAssistant: &am})
		default:
			return Response{}, fmt.Errorf("llm: message role %q (want %s or %s)", m.Role, RoleUser, RoleAssistant)
		}
	}
	for _, t := range r.Tools {
		fd := shared.FunctionDefinitionParam{Name: t.Name, Parameters: shared.FunctionParameters(t.Parameters)}
		if t.Description != "" {
			fd.Description = openai.String(t.Description)
		}
		p.Tools = append(p.Tools, openai.ChatCompletionFunctionTool(fd))
	}

	var c capture
	cc, err := o.chat.New(ctx, p, option.WithMiddleware(c.middleware))
	if err := c.result(ctx, err, err == nil && cc != nil && len(cc.Choices) > 0); err != nil {
		// The SDK's error is unexported: its text is the only way to tell.
		if strings.Contains(err.Error(), "origin must match the configured base URL") {
			return Response{}, fmt.Errorf("%w: %w", ErrRedirectRefused, err)
		}
		return Response{}, err
	}
	choice := cc.Choices[0]
	res := Response{
		HTTPStatus: c.statusCode(),
		Model:      cc.Model,
		Text:       choice.Message.Content,
		StopReason: choice.FinishReason,
		Usage: Usage{
			// prompt_tokens counts the cached ones too: keep them apart,
			// as Anthropic reports them, so that they are counted (and
			// priced) once.
			InputTokens:      max(0, int(cc.Usage.PromptTokens-cc.Usage.PromptTokensDetails.CachedTokens-cc.Usage.PromptTokensDetails.CacheWriteTokens)),
			OutputTokens:     int(cc.Usage.CompletionTokens),
			CacheReadTokens:  int(cc.Usage.PromptTokensDetails.CachedTokens),
			CacheWriteTokens: int(cc.Usage.PromptTokensDetails.CacheWriteTokens),
		},
	}
	for _, tc := range choice.Message.ToolCalls {
		if tc.Type != "function" {
			continue
		}
		args := json.RawMessage(tc.Function.Arguments)
		if len(bytes.TrimSpace(args)) > 0 && !json.Valid(args) {
			// Arguments that are not JSON (a weak local model) stay as a
			// JSON string for the caller to report.
			args, _ = json.Marshal(tc.Function.Arguments)
		}
		res.ToolCalls = append(res.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Input: input(args)})
	}
	return res, nil
}
