package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/llm"
	"github.com/maestrohq/maestro/prompts"
	"github.com/maestrohq/maestro/run"
)

// Agent defaults that apply when neither the node nor the worker sets one.
const (
	DefaultAgentMaxTokens = 4096
	DefaultAnthropicURL   = "https://api.anthropic.com"
	DefaultOpenAIURL      = "https://api.openai.com"
	DefaultAnthropicKey   = "ANTHROPIC_API_KEY"
	DefaultOpenAIKey      = "OPENAI_API_KEY"
	// PromptArg is the argv element of the command provider replaced by the
	// prompt; without one, the prompt goes to the program's stdin.
	PromptArg = dag.PromptArg
)

// maxPromptArg is the longest prompt passed as an argument (Linux refuses a
// single argument over 128 KiB).
const maxPromptArg = 120 << 10

// AgentDefaults are the worker's defaults for agent nodes. A node's own
// executor fields win; the model, base URL and key variable apply only to
// nodes of the default provider.
type AgentDefaults struct {
	Provider  string   `json:"provider,omitempty"`
	Model     string   `json:"model,omitempty"`
	BaseURL   string   `json:"base_url,omitempty"`
	APIKeyEnv string   `json:"api_key_env,omitempty"`
	MaxTokens int      `json:"max_tokens,omitempty"`
	Command   []string `json:"command,omitempty"`
	// Preset is a coding-agent CLI preset (dag.AgentPresets) the command
	// provider runs, instead of Command.
	Preset string `json:"preset,omitempty"`
}

// Configured reports whether agent nodes without a provider of their own can
// run. Without it, such nodes with a simulated output (the built-in
// templates' phases) complete with that output, marked simulated.
func (d AgentDefaults) Configured() bool { return d.Provider != "" }

// Validate checks the worker's defaults, naming the MAESTRO_AGENT_*
// variable of each problem (configuration reads them; see package config).
// It sees the name of the API key's variable, never the key: the key is
// read from the environment at each call and is never logged or written to
// history.
func (d AgentDefaults) Validate() error {
	var errs []error
	if d.MaxTokens < 0 {
		errs = append(errs, fmt.Errorf("MAESTRO_AGENT_MAX_TOKENS=%d: want a positive number", d.MaxTokens))
	}
	switch d.Provider {
	case "":
	case dag.ProviderAnthropic, dag.ProviderOpenAI:
		if d.Model == "" {
			errs = append(errs, fmt.Errorf("MAESTRO_AGENT_PROVIDER=%s needs MAESTRO_AGENT_MODEL (the model to call)", d.Provider))
		}
		if d.BaseURL != "" {
			if _, err := baseURL(d.BaseURL); err != nil {
				errs = append(errs, fmt.Errorf("MAESTRO_AGENT_BASE_URL: %w", err))
			}
		}
	case dag.ProviderCommand:
		if _, ok := dag.AgentPresets[d.Preset]; d.Preset != "" && !ok {
			errs = append(errs, fmt.Errorf("MAESTRO_AGENT_PRESET=%q: unknown preset (one of %s)", d.Preset, strings.Join(dag.PresetNames(), ", ")))
		}
		if len(d.Command) == 0 && d.Preset == "" {
			errs = append(errs, errors.New("MAESTRO_AGENT_PROVIDER=command needs MAESTRO_AGENT_COMMAND (the agent program and its arguments, e.g. \"claude -p\") or MAESTRO_AGENT_PRESET (claude-code, codex or aider)"))
		}
	default:
		errs = append(errs, fmt.Errorf("MAESTRO_AGENT_PROVIDER=%q: unknown provider (one of %s)", d.Provider, strings.Join(dag.Providers, ", ")))
	}
	return errors.Join(errs...)
}

// agentCall is one agent node's resolved configuration.
type agentCall struct {
	provider    string
	model       string
	base        *url.URL
	keyEnv      string
	maxTokens   int
	temperature *float64
	argv        []string
	// preset is the coding-agent CLI preset the command provider runs:
	// the node's, or the worker's default (MAESTRO_AGENT_PRESET).
	preset string
}

// agentConfig merges the node's executor fields over the worker's defaults.
func (a *Activities) agentConfig(e *dag.AgentSpec) (agentCall, error) {
	d := a.cfg.Agent
	c := agentCall{provider: e.Provider, model: e.Model, keyEnv: e.APIKeyEnv, maxTokens: e.MaxTokens, temperature: e.Temperature, argv: e.CommandArgv(), preset: e.Preset}
	if c.provider == "" {
		c.provider = d.Provider
	}
	if c.provider == "" {
		return c, configError("agent: no provider: set executor.provider or MAESTRO_AGENT_PROVIDER on the worker")
	}
	rawBase := e.BaseURL
	if c.provider == d.Provider {
		c.model = cmpOr(c.model, d.Model)
		c.keyEnv = cmpOr(c.keyEnv, d.APIKeyEnv)
		rawBase = cmpOr(rawBase, d.BaseURL)
		if len(c.argv) == 0 && d.Preset != "" {
			c.preset = d.Preset
			c.argv = dag.AgentPresets[d.Preset].Argv(c.model)
		}
		if len(c.argv) == 0 {
			c.argv = d.Command
		}
	}
	if c.maxTokens <= 0 {
		c.maxTokens = d.MaxTokens
	}
	if c.maxTokens <= 0 {
		c.maxTokens = DefaultAgentMaxTokens
	}
	switch c.provider {
	case dag.ProviderAnthropic:
		rawBase = cmpOr(rawBase, DefaultAnthropicURL)
		c.keyEnv = cmpOr(c.keyEnv, DefaultAnthropicKey)
	case dag.ProviderOpenAI:
		rawBase = cmpOr(rawBase, DefaultOpenAIURL)
		c.keyEnv = cmpOr(c.keyEnv, DefaultOpenAIKey)
	case dag.ProviderCommand:
		if len(c.argv) == 0 || c.argv[0] == "" {
			return c, configError("agent: the command provider needs executor.argv or MAESTRO_AGENT_COMMAND on the worker")
		}
		return c, nil
	default:
		return c, configError("agent: unknown provider %q (one of %s)", c.provider, strings.Join(dag.Providers, ", "))
	}
	if c.model == "" {
		return c, configError("agent: no model: set executor.model or MAESTRO_AGENT_MODEL on the worker")
	}
	u, err := baseURL(rawBase)
	if err != nil {
		return c, configError("agent: executor.base_url: %v", err)
	}
	c.base = u
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// baseURL parses an API base URL: absolute http or https.
func baseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %v", errors.Unwrap(err))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s is not an absolute http or https URL", redactURL(u))
	}
	return u, nil
}

// endpoint joins the base URL and an API path under /v1, accepting a base
// that already ends in /v1 (as OpenAI-compatible servers often document it).
func endpoint(base *url.URL, path string) string {
	u := *base
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/v1")
	u.Path = p + "/v1/" + path
	u.RawPath = ""
	return u.String()
}

// agentExecutor runs agent nodes.
type agentExecutor struct{}

// Run runs an agent node's attempt.
func (agentExecutor) Run(ctx context.Context, a *Activities, in run.NodeInput) (run.NodeResult, error) {
	return a.runAgent(ctx, in)
}

// runAgent renders the node's prompts (its phase's role, or its overrides)
// over the requirement, the params and its dependencies' full outputs, and
// asks the provider. The answer is the node's output.
func (a *Activities) runAgent(ctx context.Context, in run.NodeInput) (run.NodeResult, error) {
	e, err := specOf[*dag.AgentSpec](in)
	if err != nil {
		return run.NodeResult{}, err
	}
	if e.SimulatedOutput != "" && e.Provider == "" && !a.cfg.Agent.Configured() {
		res := a.output([]byte(e.SimulatedOutput), len(e.SimulatedOutput))
		res.Simulated = true
		return res, nil
	}
	c, err := a.agentConfig(e)
	if err != nil {
		return run.NodeResult{}, err
	}
	inputs, err := a.dependencyInputs(ctx, in, true)
	if err != nil {
		return run.NodeResult{}, err
	}
	req, _ := in.Params["requirement"].(string)
	data := prompts.Data{
		Requirement: req, Params: in.Params, Inputs: inputs,
		Node: in.Node.ID, Name: in.Node.DisplayName(), Phase: in.Node.Phase,
	}
	if ws := in.Workspace; ws != nil && ws.Dir != "" {
		data.Workspace = true
		if in.Node.Phase == "review" || strings.Contains(e.Prompt, ".Diff") {
			data.Diff = a.runDiff(ctx, in)
		}
	}
	system, user, err := prompts.RenderContext(ctx, in.Node, data, a.templateLimits())
	if err != nil {
		return run.NodeResult{}, templateError(ctx, "agent", err)
	}
	switch c.provider {
	case dag.ProviderCommand:
		if c.preset != "" {
			return a.runPreset(ctx, in, e, c, system, user)
		}
		return a.runAgentCommand(ctx, in, e.Process, c, system, user)
	default:
		if ws := in.Workspace; ws != nil && ws.Dir != "" {
			return a.runCoder(ctx, in, e, c, system, user)
		}
		return a.callModel(ctx, in, c, system, user)
	}
}

// runAgentCommand runs an agent CLI as the command executor runs a program
// (no shell, own process group, minimal environment, killed on cancel), in
// the node's dir or the worker's work directory, with the prompt (system
// prompt, a blank line, user prompt) on stdin or in place of a "{{prompt}}"
// argument. Its stdout is the answer.
func (a *Activities) runAgentCommand(ctx context.Context, in run.NodeInput, p dag.Process, c agentCall, system, user string) (run.NodeResult, error) {
	prompt := user
	if system != "" {
		prompt = system + "\n\n" + user
	}
	argv := slices.Clone(c.argv)
	asArg := false
	for i, arg := range argv {
		if i > 0 && arg == PromptArg {
			argv[i] = prompt
			asArg = true
		}
	}
	if asArg && len(prompt) > maxPromptArg {
		return run.NodeResult{}, configError("agent: the prompt is %d bytes, too long to pass as an argument (at most %d); drop %q from argv to pass it on stdin", len(prompt), maxPromptArg, PromptArg)
	}
	var stdin io.Reader
	if !asArg {
		stdin = strings.NewReader(prompt)
	}
	return a.runArgv(ctx, in, p, argv, stdin)
}

// callModel sends one request to the provider's API (through package llm
// and the provider's official SDK) and maps its answer.
func (a *Activities) callModel(ctx context.Context, in run.NodeInput, c agentCall, system, user string) (run.NodeResult, error) {
	m, err := a.openModel(c)
	if err != nil {
		return run.NodeResult{}, err
	}
	if c.temperature != nil && c.provider == dag.ProviderAnthropic {
		a.cfg.Logger.WarnContext(ctx, "agent temperature not sent: the Messages API version of the Anthropic SDK has none",
			slog.String("workflow_id", in.WorkflowID), slog.String("node", in.Node.ID))
	}

	if err := a.overBudget(in, run.Usage{Model: c.model}, estimateTokens(system, user)); err != nil {
		return run.NodeResult{}, err
	}
	stop := heartbeat(ctx)
	defer stop()
	start := time.Now()
	resp, err := m.client.Send(ctx, llm.Request{Model: c.model, System: system, MaxTokens: c.maxTokens, Temperature: c.temperature,
		Messages: []llm.Message{{Role: llm.RoleUser, Text: user}}})
	if err != nil {
		return run.NodeResult{}, a.modelError(ctx, in, c, m, err)
	}
	usage := run.Usage{Model: cmpOr(resp.Model, c.model), InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens,
		CacheReadTokens: resp.Usage.CacheReadTokens, CacheWriteTokens: resp.Usage.CacheWriteTokens}
	attrs := []any{slog.String("workflow_id", in.WorkflowID), slog.String("node", in.Node.ID),
		slog.String("provider", c.provider), slog.String("model", usage.Model), slog.String("stop_reason", resp.StopReason),
		slog.Int("input_tokens", usage.InputTokens), slog.Int("output_tokens", usage.OutputTokens),
		slog.Int("cache_read_tokens", resp.Usage.CacheReadTokens), slog.Int("cache_write_tokens", resp.Usage.CacheWriteTokens),
		slog.Duration("took", time.Since(start))}
	if resp.StopReason == "max_tokens" || resp.StopReason == "length" {
		a.cfg.Logger.WarnContext(ctx, "agent answer cut at max_tokens", attrs...)
	} else {
		a.cfg.Logger.InfoContext(ctx, "agent answered", attrs...)
	}
	if strings.TrimSpace(resp.Text) == "" {
		return run.NodeResult{}, &nodeError{typ: ErrTypeAgentResponse, failure: run.Failure{HTTPStatus: resp.HTTPStatus},
			msg: fmt.Sprintf("%s: the model returned no text (stop reason %q)", m.where, resp.StopReason)}
	}
	res := a.output([]byte(resp.Text), len(resp.Text))
	res.HTTPStatus = resp.HTTPStatus
	res.Usage = &usage
	return res, nil
}

// modelSession is a model API client for one node, with how its errors
// name the API and hide the key.
type modelSession struct {
	client llm.Client
	// where names the API in messages ("anthropic POST https://…/v1/messages").
	where string
	// want names the answer expected ("a Messages API answer").
	want string
	// redact removes the key from a message, even if a server echoes it.
	redact func(string) string
}

// openModel makes the client of c's provider, with the key from the
// worker's environment and the worker's agent HTTP client (which enforces
// the policy's egress rules).
func (a *Activities) openModel(c agentCall) (*modelSession, error) {
	key := a.cfg.Getenv(c.keyEnv)
	if key == "" && (c.provider == dag.ProviderAnthropic || c.base.Host == "api.openai.com") {
		return nil, configError("agent: the API key variable %s is not set on the worker", c.keyEnv)
	}
	target, want := endpoint(c.base, "chat/completions"), "a Chat Completions answer"
	if c.provider == dag.ProviderAnthropic {
		target, want = endpoint(c.base, "messages"), "a Messages API answer"
	}
	tu, _ := url.Parse(target)
	m := &modelSession{where: fmt.Sprintf("%s POST %s", c.provider, redactURL(tu)), want: want,
		redact: func(s string) string {
			if len(key) >= 4 {
				s = strings.ReplaceAll(s, key, "[redacted]")
			}
			return s
		}}
	client, err := llm.New(llm.Config{Provider: c.provider, BaseURL: c.base.String(), APIKey: key, HTTPClient: a.cfg.AgentHTTPClient})
	if err != nil {
		return nil, configError("agent: %s", m.redact(err.Error()))
	}
	m.client = client
	return m, nil
}

// modelError classifies a failed call of the model API: ctx's error when
// the attempt ended, an error answer (agentHTTPError), an answer that is not
// the API's, a destination the policy refuses, a refused redirect, or no
// answer (retried).
func (a *Activities) modelError(ctx context.Context, in run.NodeInput, c agentCall, m *modelSession, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var apiErr *llm.APIError
	var respErr *llm.ResponseError
	switch {
	case errors.As(err, &apiErr):
		return a.agentHTTPError(apiErr, m.where, c, m.redact)
	case errors.As(err, &respErr):
		return a.shapeError(m.where, m.want, respErr.Body, respErr.Status, m.redact)
	}
	if denied := deniedError(in.Node.ID, "base_url", err); denied != nil {
		return denied
	}
	if errors.Is(err, llm.ErrRedirectRefused) {
		return &nodeError{typ: ErrTypeAgentRequest, nonRetryable: true,
			msg: m.redact(fmt.Sprintf("%s: the server redirects to another origin, which the SDK does not follow (check the base URL)", m.where))}
	}
	return &nodeError{typ: ErrTypeAgentNetwork, msg: m.redact(fmt.Sprintf("%s: %v", m.where, unwrapURLError(err)))}
}

// agentHTTPError classifies a model API's error answer: the key refused
// (401, 403) and invalid requests (other 4xx) fail for good; 408, 409, 429
// and 5xx (529 is Anthropic's "overloaded") retry, after Retry-After when
// the server sends one.
func (a *Activities) agentHTTPError(e *llm.APIError, where string, c agentCall, redact func(string) string) error {
	code := e.Status
	msg := fmt.Sprintf("%s: HTTP %s", where, statusText(&http.Response{StatusCode: code}))
	ne := &nodeError{failure: run.Failure{HTTPStatus: code}}
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		ne.typ, ne.nonRetryable = ErrTypeAgentAuth, true
		msg += fmt.Sprintf(" (the API key from %s was refused)", c.keyEnv)
	case code == http.StatusTooManyRequests:
		ne.typ = ErrTypeAgentRateLimit
	case code >= 500, code == http.StatusRequestTimeout, code == http.StatusConflict:
		ne.typ = ErrTypeAgentServer
	default:
		ne.typ, ne.nonRetryable = ErrTypeAgentRequest, true
		if code == http.StatusNotFound {
			msg += fmt.Sprintf(" (check the base URL and the model %q)", c.model)
		}
	}
	if !ne.nonRetryable {
		ne.nextDelay = min(e.RetryAfter, maxRetryAfter)
	}
	detail := e.Detail()
	ne.msg = redact(withDetail(msg, []byte(detail), len(detail), a.cfg.MaxErrorBytes, false))
	return ne
}

func (a *Activities) shapeError(where, want string, raw []byte, status int, redact func(string) string) error {
	return &nodeError{typ: ErrTypeAgentResponse, failure: run.Failure{HTTPStatus: status},
		msg: redact(withDetail(fmt.Sprintf("%s: the answer is not %s (check the provider and base URL)", where, want), raw, len(raw), a.cfg.MaxErrorBytes, false))}
}
