package activities

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/fakellm"
	"github.com/maestrohq/maestro/run"
)

const testKey = "sk-test-0123456789abcdef"

func agentNode(id, phase string, e dag.AgentSpec) dag.Node {
	return dag.Node{ID: id, Phase: phase, Executor: dag.NewExecutor(&e)}
}

// withAgent points the worker's agent defaults at base and puts the key in
// the worker's environment under the provider's default variable.
func withAgent(provider, base string) harnessOpt {
	return func(c *Config, o *worker.Options) {
		withEnv(map[string]string{DefaultAnthropicKey: testKey, DefaultOpenAIKey: testKey, "CUSTOM_KEY": testKey})(c, o)
		c.Agent = AgentDefaults{Provider: provider, Model: "test-model", BaseURL: base}
	}
}

func text(s string) func(*http.Request, fakellm.Request) fakellm.Reply {
	return func(*http.Request, fakellm.Request) fakellm.Reply {
		return fakellm.Reply{Text: s, InputTokens: 120, OutputTokens: 34}
	}
}

func TestAgentAnthropicRequestAndAnswer(t *testing.T) {
	srv := fakellm.New(t, testKey, text("# Design\nA REST API."))
	h := newHarness(t, withAgent(dag.ProviderAnthropic, srv.URL))
	res := h.mustRun(agentNode("design", "design", dag.AgentSpec{MaxTokens: 1000}),
		withParams(map[string]any{"requirement": "Build a todo app"}),
		withInputs(map[string]string{"requirements": "REQ: users can add todos"}))

	assert.Equal(t, "# Design\nA REST API.", res.Output)
	assert.Equal(t, &run.Usage{Model: "test-model", InputTokens: 120, OutputTokens: 34}, res.Usage)
	assert.Equal(t, http.StatusOK, res.HTTPStatus)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, fakellm.Anthropic, r.Provider)
	assert.Equal(t, "test-model", r.Model)
	assert.Equal(t, 1000, r.MaxTokens)
	assert.Nil(t, r.Temperature)
	assert.Contains(t, r.System, "software architect")
	assert.Contains(t, r.User, "Build a todo app")
	assert.Contains(t, r.User, "# Output of the requirements phase\n\nREQ: users can add todos")
	assert.NotContains(t, h.logs.String(), testKey, "the key is never logged")
	assert.Contains(t, h.logs.String(), "input_tokens=120")
}

func TestAgentOpenAIRequestAndAnswer(t *testing.T) {
	srv := fakellm.New(t, testKey, text("All tests pass."))
	temp := 0.2
	// A base URL ending in /v1, as OpenAI-compatible servers document it.
	h := newHarness(t, withAgent(dag.ProviderAnthropic, "http://unused.invalid"))
	res := h.mustRun(agentNode("qa", "testing", dag.AgentSpec{
		Provider: dag.ProviderOpenAI, Model: "gpt-test", BaseURL: srv.URL + "/v1/", Temperature: &temp,
		APIKeyEnv: "CUSTOM_KEY", Prompt: "Test {{.Requirement}} given {{index .Inputs \"backend\"}}",
	}), withParams(map[string]any{"requirement": "the app"}), withInputs(map[string]string{"backend": "BE"}))

	assert.Equal(t, "All tests pass.", res.Output)
	assert.Equal(t, &run.Usage{Model: "gpt-test", InputTokens: 120, OutputTokens: 34}, res.Usage)
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, fakellm.OpenAI, r.Provider)
	assert.Equal(t, "gpt-test", r.Model)
	assert.Equal(t, DefaultAgentMaxTokens, r.MaxTokens)
	require.NotNil(t, r.Temperature)
	assert.InDelta(t, 0.2, *r.Temperature, 1e-9)
	assert.Contains(t, r.System, "QA and test engineer")
	assert.Equal(t, "Test the app given BE", r.User)
}

func TestAgentLocalOpenAICompatibleServerNeedsNoKey(t *testing.T) {
	var auth []string
	srv := fakellm.New(t, "", func(r *http.Request, _ fakellm.Request) fakellm.Reply {
		auth = append(auth, r.Header.Get("Authorization"))
		return fakellm.Reply{Text: "ok"}
	})
	h := newHarness(t, withEnv(map[string]string{}), withConfig(func(c *Config) {
		c.Agent = AgentDefaults{Provider: dag.ProviderOpenAI, Model: "llama3", BaseURL: srv.URL}
	}))
	res := h.mustRun(agentNode("x", "", dag.AgentSpec{}))
	assert.Equal(t, "ok", res.Output)
	assert.Equal(t, []string{""}, auth, "no Authorization header without a key")
}

func TestAgentErrors(t *testing.T) {
	reply := func(rep fakellm.Reply) func(*http.Request, fakellm.Request) fakellm.Reply {
		return func(*http.Request, fakellm.Request) fakellm.Reply { return rep }
	}
	tests := []struct {
		name      string
		provider  string
		reply     fakellm.Reply
		typ       string
		retryable bool
		status    int
		message   []string
		delay     time.Duration
	}{
		{
			name: "anthropic 401", provider: dag.ProviderAnthropic,
			reply: fakellm.Reply{Status: 401, ErrorType: "authentication_error", Message: "invalid x-api-key " + testKey},
			typ:   ErrTypeAgentAuth, status: 401,
			message: []string{"anthropic POST {url}/v1/messages: HTTP 401 Unauthorized (the API key from ANTHROPIC_API_KEY was refused): authentication_error: invalid x-api-key [redacted]"},
		},
		{
			name: "openai 401", provider: dag.ProviderOpenAI,
			reply: fakellm.Reply{Status: 401, ErrorType: "invalid_request_error", Message: "Incorrect API key provided"},
			typ:   ErrTypeAgentAuth, status: 401, message: []string{"OPENAI_API_KEY was refused", "Incorrect API key provided"},
		},
		{
			name: "403", provider: dag.ProviderAnthropic,
			reply: fakellm.Reply{Status: 403, ErrorType: "permission_error", Message: "no access"},
			typ:   ErrTypeAgentAuth, status: 403, message: []string{"HTTP 403 Forbidden", "permission_error: no access"},
		},
		{
			name: "400", provider: dag.ProviderAnthropic,
			reply: fakellm.Reply{Status: 400, ErrorType: "invalid_request_error", Message: "max_tokens: too large"},
			typ:   ErrTypeAgentRequest, status: 400, message: []string{"HTTP 400 Bad Request: invalid_request_error: max_tokens: too large"},
		},
		{
			name: "404 names the model", provider: dag.ProviderOpenAI,
			reply: fakellm.Reply{Status: 404, ErrorType: "invalid_request_error", Message: "The model does not exist"},
			typ:   ErrTypeAgentRequest, status: 404, message: []string{`check the base URL and the model "test-model"`},
		},
		{
			name: "422", provider: dag.ProviderOpenAI, reply: fakellm.Reply{Status: 422, Message: "unprocessable"},
			typ: ErrTypeAgentRequest, status: 422,
		},
		{
			name: "429 with Retry-After", provider: dag.ProviderAnthropic,
			reply: fakellm.Reply{Status: 429, ErrorType: "rate_limit_error", Message: "slow down", Header: map[string]string{"Retry-After": "7"}},
			typ:   ErrTypeAgentRateLimit, retryable: true, status: 429, delay: 7 * time.Second, message: []string{"HTTP 429 Too Many Requests: rate_limit_error: slow down"},
		},
		{
			name: "openai 429 with Retry-After", provider: dag.ProviderOpenAI,
			reply: fakellm.Reply{Status: 429, ErrorType: "requests", Message: "Rate limit reached", Header: map[string]string{"Retry-After": "2"}},
			typ:   ErrTypeAgentRateLimit, retryable: true, status: 429, delay: 2 * time.Second,
		},
		{
			name: "500", provider: dag.ProviderAnthropic, reply: fakellm.Reply{Status: 500, ErrorType: "api_error", Message: "internal"},
			typ: ErrTypeAgentServer, retryable: true, status: 500, message: []string{"HTTP 500 Internal Server Error: api_error: internal"},
		},
		{
			name: "529 overloaded", provider: dag.ProviderAnthropic, reply: fakellm.Reply{Status: 529, ErrorType: "overloaded_error", Message: "Overloaded"},
			typ: ErrTypeAgentServer, retryable: true, status: 529, message: []string{"HTTP 529: overloaded_error: Overloaded"},
		},
		{
			name: "not the API's shape", provider: dag.ProviderAnthropic, reply: fakellm.Reply{RawBody: "<html>hello</html>"},
			typ: ErrTypeAgentResponse, retryable: true, status: 200, message: []string{"not a Messages API answer", "<html>hello</html>"},
		},
		{
			name: "no text", provider: dag.ProviderOpenAI, reply: fakellm.Reply{Text: "", StopReason: "content_filter"},
			typ: ErrTypeAgentResponse, retryable: true, status: 200, message: []string{`the model returned no text (stop reason "content_filter")`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakellm.New(t, testKey, reply(tt.reply))
			h := newHarness(t, withAgent(tt.provider, srv.URL))
			_, err := h.run(agentNode("design", "design", dag.AgentSpec{}))
			appErr, f := appError(t, err, tt.typ, tt.retryable)
			for _, m := range tt.message {
				assert.Contains(t, appErr.Message(), strings.ReplaceAll(m, "{url}", srv.URL))
			}
			assert.NotContains(t, appErr.Message(), testKey)
			assert.NotContains(t, h.logs.String(), testKey)
			assert.Equal(t, tt.status, f.HTTPStatus)
			assert.Equal(t, tt.delay, appErr.NextRetryDelay())
		})
	}
}

func TestAgentNetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	h := newHarness(t, withAgent(dag.ProviderAnthropic, "http://"+addr))
	_, err = h.run(agentNode("design", "design", dag.AgentSpec{}))
	appErr, _ := appError(t, err, ErrTypeAgentNetwork, true)
	assert.Contains(t, appErr.Message(), "anthropic POST http://"+addr+"/v1/messages")
}

func TestAgentConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     AgentDefaults
		env     map[string]string
		e       dag.AgentSpec
		message string
	}{
		{name: "no provider", message: "no provider: set executor.provider or MAESTRO_AGENT_PROVIDER"},
		{name: "no model", e: dag.AgentSpec{Provider: dag.ProviderAnthropic}, env: map[string]string{DefaultAnthropicKey: "k"},
			message: "no model: set executor.model or MAESTRO_AGENT_MODEL"},
		{name: "no key", cfg: AgentDefaults{Provider: dag.ProviderAnthropic, Model: "m"},
			message: "the API key variable ANTHROPIC_API_KEY is not set on the worker"},
		{name: "no openai key", e: dag.AgentSpec{Provider: dag.ProviderOpenAI, Model: "m", APIKeyEnv: "MY_KEY"},
			message: "the API key variable MY_KEY is not set on the worker"},
		{name: "bad base URL", e: dag.AgentSpec{Provider: dag.ProviderOpenAI, Model: "m", BaseURL: "ftp://x"},
			message: "executor.base_url: ftp://x is not an absolute http or https URL"},
		{name: "command without argv", e: dag.AgentSpec{Provider: dag.ProviderCommand},
			message: "the command provider needs executor.argv or MAESTRO_AGENT_COMMAND"},
		{name: "bad prompt", cfg: AgentDefaults{Provider: dag.ProviderAnthropic, Model: "m"}, env: map[string]string{DefaultAnthropicKey: "k"},
			e: dag.AgentSpec{Prompt: "{{.Params.missing}}"}, message: "executor.prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withEnv(tt.env), withConfig(func(c *Config) { c.Agent = tt.cfg }))
			_, err := h.run(agentNode("x", "", tt.e))
			appErr, _ := appError(t, err, ErrTypeConfig, false)
			assert.Contains(t, appErr.Message(), tt.message)
		})
	}
}

func TestAgentCancelAbortsTheRequest(t *testing.T) {
	aborted := make(chan struct{})
	srv := fakellm.New(t, testKey, func(r *http.Request, _ fakellm.Request) fakellm.Reply {
		select {
		case <-r.Context().Done():
			close(aborted)
		case <-time.After(30 * time.Second):
		}
		return fakellm.Reply{Text: "too late"}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHarness(t, withAgent(dag.ProviderAnthropic, srv.URL), withBackground(ctx))
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := h.run(agentNode("design", "design", dag.AgentSpec{}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "canceled")
	assert.Less(t, time.Since(start), 15*time.Second, "the server would hold the request 30 s")
	assert.Positive(t, h.heartbeats.Load(), "heartbeats while the model thinks")
	select {
	case <-aborted:
	case <-time.After(5 * time.Second):
		t.Fatal("the fake model's request was not aborted")
	}
}

// agentScript writes a shell script standing in for an agent CLI.
func agentScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent-cli")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755))
	return p
}

func TestAgentCommandPromptOnStdin(t *testing.T) {
	script := agentScript(t, `echo "cwd=$(pwd) args=$* node=$MAESTRO_NODE_ID"; echo "--- prompt:"; cat`)
	work := t.TempDir()
	h := newHarness(t, withEnv(map[string]string{}), withConfig(func(c *Config) {
		c.WorkDir = work
		c.Agent = AgentDefaults{Provider: dag.ProviderCommand, Command: []string{script, "-p", "--quiet"}}
	}))
	res := h.mustRun(agentNode("backend", "backend", dag.AgentSpec{}),
		withParams(map[string]any{"requirement": "Build a todo app"}),
		withInputs(map[string]string{"design": "DESIGN-DOC"}))
	wd, err := filepath.EvalSymlinks(work)
	require.NoError(t, err)
	assert.Contains(t, res.Output, "cwd="+wd+" args=-p --quiet node=backend\n--- prompt:\nYou are a senior backend engineer.")
	assert.Contains(t, res.Output, "Build a todo app")
	assert.Contains(t, res.Output, "# Output of the design phase\n\nDESIGN-DOC")
	require.NotNil(t, res.ExitCode)
	assert.Nil(t, res.Usage)
}

func TestAgentCommandPromptAsArgument(t *testing.T) {
	script := agentScript(t, `printf 'arg=[%s] stdin=[' "$2"; cat; printf ']'`)
	h := newHarness(t, withEnv(map[string]string{}))
	res := h.mustRun(agentNode("x", "", dag.AgentSpec{
		Provider: dag.ProviderCommand, Process: dag.Process{Argv: []string{script, "-p", PromptArg}}, SystemPrompt: "SYS", Prompt: "do {{.Node}}",
	}))
	assert.Equal(t, "arg=[SYS\n\ndo x] stdin=[]", res.Output)
}

func TestAgentCommandFailureAndCancel(t *testing.T) {
	h := newHarness(t, withEnv(map[string]string{}))
	_, err := h.run(agentNode("x", "", dag.AgentSpec{Provider: dag.ProviderCommand,
		Process: dag.Process{Argv: []string{agentScript(t, "echo 'model unavailable' >&2; exit 3")}}}))
	appErr, f := appError(t, err, ErrTypeCommandExit, true)
	assert.Contains(t, appErr.Message(), "exit code 3: model unavailable")
	assert.Equal(t, 3, *f.ExitCode)

	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h = newHarness(t, withEnv(map[string]string{}), withBackground(ctx))
	time.AfterFunc(500*time.Millisecond, cancel)
	_, err = h.run(agentNode("x", "", dag.AgentSpec{Provider: dag.ProviderCommand,
		Process: dag.Process{Argv: []string{agentScript(t, "echo $$ > "+pidFile+"; exec sleep 30")}}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "canceled")
	raw, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	var pid int
	_, err = fmt.Sscan(strings.TrimSpace(string(raw)), &pid)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return processGone(pid) }, 5*time.Second, 50*time.Millisecond, "the agent CLI was killed")
}

func TestArtifactsKeepFullOutputOutOfHistory(t *testing.T) {
	store := artifacts.NewDir(t.TempDir())
	big := strings.Repeat("requirement line\n", 10_000) + "THE END"
	srv := fakellm.New(t, testKey, func(_ *http.Request, r fakellm.Request) fakellm.Reply {
		if strings.Contains(r.System, "requirements analyst") {
			return fakellm.Reply{Text: big}
		}
		return fakellm.Reply{Text: "design based on " + r.User[strings.LastIndex(r.User, "THE"):strings.LastIndex(r.User, "END")+3]}
	})
	h := newHarness(t, withAgent(dag.ProviderAnthropic, srv.URL), withConfig(func(c *Config) {
		c.ArtifactStore = store
		c.MaxOutputBytes = 1024
	}))
	req := h.mustRun(agentNode("requirements", "requirements", dag.AgentSpec{}))
	assert.True(t, req.Truncated)
	assert.LessOrEqual(t, len(req.Output), 1024, "history keeps the capped summary")
	assert.Equal(t, len(big), req.OutputBytes)
	assert.Equal(t, "wf-1/requirements", req.Artifact)
	full, err := store.Get(context.Background(), "wf-1", "requirements")
	require.NoError(t, err)
	assert.Equal(t, big, string(full), "the artifact has the full answer")

	// The dependent gets the full artifact, not the capped output the
	// workflow hands over.
	design := h.mustRun(agentNode("design", "design", dag.AgentSpec{}), withInputs(map[string]string{"requirements": req.Output}))
	assert.Equal(t, "design based on THE END", design.Output)
	assert.Equal(t, "wf-1/design", design.Artifact)
	list, err := store.List(context.Background(), "wf-1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, int64(len(big)), list[1].Bytes)

	// A dependency reused from an earlier run: the workflow names its
	// artifact, filed under that run.
	_, err = store.Put(context.Background(), "wf-0", "requirements", []byte("OLD RUN: THE END"))
	require.NoError(t, err)
	design = h.mustRun(agentNode("design", "design", dag.AgentSpec{}), withInputs(map[string]string{"requirements": "OLD RUN (capped)"}),
		func(in *run.NodeInput) { in.Artifacts = map[string]string{"requirements": "wf-0/requirements"} })
	assert.Equal(t, "design based on THE END", design.Output)
	assert.Contains(t, srv.Requests()[len(srv.Requests())-1].User, "OLD RUN: THE END")

	// A command node gets a dependency's full artifact in place of its
	// truncated output when it fits in the environment (maxInlineInput);
	// a bigger one stays capped.
	medium := strings.Repeat("m", 50_000)
	_, err = store.Put(context.Background(), "wf-1", "spec", []byte(medium))
	require.NoError(t, err)
	mediumCapped, truncated := capHead([]byte(medium), len(medium), 1024)
	require.True(t, truncated)
	count := dag.Node{ID: "count", Executor: dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{
		Argv: []string{"sh", "-c", `printf %s "$MAESTRO_INPUT_SPEC" | wc -c; printf %s "$MAESTRO_INPUT_REQUIREMENTS" | wc -c`}}})}
	out := h.mustRun(count, withInputs(map[string]string{"spec": mediumCapped, "requirements": req.Output}))
	assert.Equal(t, []string{"50000", strconv.Itoa(len(req.Output))}, strings.Fields(out.Output))
	// Its own (small) output is stored too.
	_, err = store.Get(context.Background(), "wf-1", "count")
	require.NoError(t, err)
}

func TestAgentDefaultsValidate(t *testing.T) {
	assert.NoError(t, AgentDefaults{}.Validate())
	assert.False(t, AgentDefaults{}.Configured())
	d := AgentDefaults{Provider: "anthropic", Model: "claude-x", MaxTokens: 2048, APIKeyEnv: "MY_KEY", BaseURL: "http://127.0.0.1:9"}
	assert.NoError(t, d.Validate())
	assert.True(t, d.Configured())
	assert.NoError(t, AgentDefaults{Provider: "command", Command: []string{"claude", "-p"}}.Validate())

	err := AgentDefaults{Provider: "openai", MaxTokens: -1, BaseURL: "localhost"}.Validate()
	require.Error(t, err)
	for _, m := range []string{"MAESTRO_AGENT_MODEL", "MAESTRO_AGENT_MAX_TOKENS", "MAESTRO_AGENT_BASE_URL"} {
		assert.Contains(t, err.Error(), m)
	}
	assert.ErrorContains(t, AgentDefaults{Provider: "gemini"}.Validate(), `unknown provider`)
	assert.ErrorContains(t, AgentDefaults{Provider: "command"}.Validate(), "MAESTRO_AGENT_COMMAND")
}

// A node with a simulated output (a built-in template's phase) asks the
// worker's provider when there is one, and completes simulated when neither
// the node nor the worker names a provider.
func TestAgentSimulatedOutput(t *testing.T) {
	srv := fakellm.New(t, testKey, text("# Design\nA REST API."))
	spec := dag.AgentSpec{SimulatedOutput: "Architecture and design done (simulated)"}
	tests := []struct {
		name      string
		opts      []harnessOpt
		spec      dag.AgentSpec
		want      string
		simulated bool
		calls     int
	}{
		{name: "worker without a provider", opts: []harnessOpt{withEnv(map[string]string{})}, spec: spec,
			want: "Architecture and design done (simulated)", simulated: true},
		{name: "worker with a provider", opts: []harnessOpt{withAgent(dag.ProviderAnthropic, srv.URL)}, spec: spec,
			want: "# Design\nA REST API.", calls: 1},
		{name: "node with a provider", opts: []harnessOpt{withEnv(map[string]string{})},
			spec: dag.AgentSpec{Provider: dag.ProviderCommand, SimulatedOutput: "unused",
				Process: dag.Process{Argv: []string{"sh", "-c", "printf 'from the CLI'"}}},
			want: "from the CLI"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.Requests())
			h := newHarness(t, tt.opts...)
			res := h.mustRun(agentNode("design", "design", tt.spec))
			assert.Equal(t, tt.want, res.Output)
			assert.Equal(t, tt.simulated, res.Simulated)
			assert.Len(t, srv.Requests(), before+tt.calls)
		})
	}
}

// The Messages API version of the Anthropic SDK has no temperature: a
// node's is not sent, with a warning.
func TestAgentAnthropicTemperatureIsNotSent(t *testing.T) {
	srv := fakellm.New(t, testKey, text("ok"))
	temp := 0.5
	h := newHarness(t, withAgent(dag.ProviderAnthropic, srv.URL))
	res := h.mustRun(agentNode("x", "", dag.AgentSpec{Temperature: &temp}))
	assert.Equal(t, "ok", res.Output)
	require.Len(t, srv.Requests(), 1)
	assert.Nil(t, srv.Requests()[0].Temperature)
	assert.Contains(t, h.logs.String(), "agent temperature not sent")
}

func TestAgentAnswerCutAtMaxTokens(t *testing.T) {
	for _, p := range []string{dag.ProviderAnthropic, dag.ProviderOpenAI} {
		t.Run(p, func(t *testing.T) {
			stop := map[string]string{dag.ProviderAnthropic: "max_tokens", dag.ProviderOpenAI: "length"}[p]
			srv := fakellm.New(t, testKey, func(*http.Request, fakellm.Request) fakellm.Reply {
				return fakellm.Reply{Text: "half an ans", StopReason: stop, InputTokens: 5, OutputTokens: 10}
			})
			h := newHarness(t, withAgent(p, srv.URL))
			res := h.mustRun(agentNode("x", "", dag.AgentSpec{MaxTokens: 10}))
			assert.Equal(t, "half an ans", res.Output)
			assert.Contains(t, h.logs.String(), "agent answer cut at max_tokens")
			assert.Contains(t, h.logs.String(), "stop_reason="+stop)
		})
	}
}
