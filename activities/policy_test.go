package activities

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/fakellm"
	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/run"
)

// withPolicy runs the worker under p, with a worker environment holding
// the secrets pipelines must not read.
func withPolicy(p *policy.Policy) harnessOpt {
	return func(c *Config, o *worker.Options) {
		withEnv(map[string]string{"MAESTRO_API_TOKEN": "api-token-secret", "AWS_SECRET_ACCESS_KEY": "aws-secret", "GITHUB_TOKEN": "gh-token"})(c, o)
		c.Policy = p
	}
}

// listen serves handler on ip (any port), counting requests.
func listen(t *testing.T, ip string, handler http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	var hits atomic.Int32
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		handler(w, r)
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestDefaultPolicyRefusesAttacks(t *testing.T) {
	loop, loopHits := listen(t, "127.0.0.1", answer(200, "metrics"))
	tests := []struct {
		name  string
		node  dag.Node
		want  []string
		mods  []func(*run.NodeInput)
		field string
	}{
		{name: "sh -c", node: cmdNode("sh", "-c", "cat /etc/passwd"),
			want: []string{`node "build": executor.kind: executor kind "command" is not allowed by the worker policy`, `node "build": executor.argv: program "sh" is not allowed by the worker policy (allowed: none)`}},
		{name: "pass_env of the API token", node: dag.Node{ID: "build", Executor: dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{Argv: []string{"env"}, PassEnv: []string{"MAESTRO_API_TOKEN"}}})},
			want: []string{`executor.pass_env: variable "MAESTRO_API_TOKEN" is not readable by pipelines`}},
		{name: "pass_env of a variable not listed", node: dag.Node{ID: "build", Executor: dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{Argv: []string{"env"}, PassEnv: []string{"AWS_SECRET_ACCESS_KEY"}}})},
			want: []string{`executor.pass_env: variable "AWS_SECRET_ACCESS_KEY" is not readable by the worker policy (allowed: none)`}},
		{name: "env in an http template", node: httpNode(dag.HTTPSpec{URL: "https://example.com/", Headers: map[string]string{"X-Token": `{{env "MAESTRO_API_TOKEN"}}`}}),
			want: []string{`node "deploy": executor.headers.X-Token: variable "MAESTRO_API_TOKEN" is not readable`}},
		{name: "api_key_env", node: agentNode("write", "", dag.AgentSpec{Provider: dag.ProviderOpenAI, Model: "m", BaseURL: "https://example.com", APIKeyEnv: "AWS_SECRET_ACCESS_KEY"}),
			want: []string{`node "write": executor.api_key_env: variable "AWS_SECRET_ACCESS_KEY" is not readable by the worker policy`}},
		{name: "agent base URL on loopback", node: agentNode("write", "", dag.AgentSpec{Provider: dag.ProviderOpenAI, Model: "m", BaseURL: loop.URL}),
			want: []string{`node "write": executor.base_url: ` + strings.TrimPrefix(loop.URL, "http://") + ` is not allowed by the worker policy: loopback addresses are denied unless listed in agent.allow`}},
		{name: "http to loopback (the API's /metrics)", node: httpNode(dag.HTTPSpec{URL: loop.URL + "/metrics"}),
			want: []string{`node "deploy": executor.url: ` + strings.TrimPrefix(loop.URL, "http://") + ` is not allowed by the worker policy: loopback addresses are denied unless listed in http.allow`}},
		{name: "http POST to localhost", node: httpNode(dag.HTTPSpec{URL: "http://localhost" + loop.URL[strings.LastIndex(loop.URL, ":"):] + "/api/workflows", Body: "{}"}),
			want: []string{`loopback addresses are denied`}},
		{name: "http to Temporal's gRPC port", node: httpNode(dag.HTTPSpec{URL: "http://127.0.0.1:7233/"}),
			want: []string{`127.0.0.1:7233 is not allowed by the worker policy`}},
		{name: "http to a private address", node: httpNode(dag.HTTPSpec{URL: "http://10.20.30.40:8080/admin"}),
			want: []string{`10.20.30.40:8080 is not allowed by the worker policy: private addresses are denied`}},
		{name: "http to loopback behind a template", node: httpNode(dag.HTTPSpec{URL: "{{.Params.url}}"}),
			mods: []func(*run.NodeInput){withParams(map[string]any{"url": loop.URL + "/metrics"})},
			want: []string{`node "deploy": executor.url: ` + strings.TrimPrefix(loop.URL, "http://") + ` is not allowed`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withPolicy(policy.Default()))
			_, err := h.run(tt.node, tt.mods...)
			appErr, _ := appError(t, err, ErrTypePolicyDenied, false)
			for _, w := range tt.want {
				assert.Contains(t, appErr.Message(), w)
			}
			assert.NotContains(t, appErr.Message(), "secret")
		})
	}
	assert.Zero(t, loopHits.Load(), "no request reached the loopback server")
}

func TestPolicyChecksTheResolvedAddressOfRedirects(t *testing.T) {
	for _, target := range []string{"127.0.0.2", "::1"} {
		t.Run(target, func(t *testing.T) {
			inner, innerHits := listen(t, target, answer(200, "internal"))
			outer, _ := listen(t, "127.0.0.1", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, inner.URL+"/secret", http.StatusFound)
			})
			allowed := policy.Default()
			allowed.HTTP.Allow = []string{strings.TrimPrefix(outer.URL, "http://")}
			h := newHarness(t, withPolicy(allowed))
			_, err := h.run(httpNode(dag.HTTPSpec{URL: outer.URL + "/start"}))
			appErr, _ := appError(t, err, ErrTypePolicyDenied, false)
			assert.Contains(t, appErr.Message(), `node "deploy": executor.url: connection refused: `+strings.TrimPrefix(inner.URL, "http://")+` is not allowed by the worker policy: loopback addresses are denied unless listed in http.allow`)
			assert.Zero(t, innerHits.Load(), "the redirect target was never reached")
		})
	}
}

func TestPolicyAllowsWhatItLists(t *testing.T) {
	srv, hits := listen(t, "127.0.0.1", answer(200, "ok"))
	p, err := policy.Parse([]byte(`
commands: [echo, "go version"]
env: [GITHUB_TOKEN]
http: {allow: ["` + strings.TrimPrefix(srv.URL, "http://") + `"]}
`))
	require.NoError(t, err)
	h := newHarness(t, withPolicy(p))
	res := h.mustRun(cmdNode("echo", "hello"))
	assert.Equal(t, "hello\n", res.Output)
	res = h.mustRun(httpNode(dag.HTTPSpec{URL: srv.URL + "/hook", Headers: map[string]string{"Authorization": `token {{env "GITHUB_TOKEN"}}`}}))
	assert.Equal(t, "ok", res.Output)
	assert.Equal(t, int32(1), hits.Load())

	_, err = h.run(cmdNode("go", "env"))
	appErr, _ := appError(t, err, ErrTypePolicyDenied, false)
	assert.Contains(t, appErr.Message(), `program "go" is not allowed with these arguments by the worker policy (allowed: echo, go version)`)
}

func TestPolicyAllowsTheWorkersOwnModelAPI(t *testing.T) {
	llm := fakellm.New(t, "", text("ok"))
	h := newHarness(t, withPolicy(policy.Default()), withConfig(func(c *Config) {
		c.Agent = AgentDefaults{Provider: dag.ProviderOpenAI, Model: "llama3", BaseURL: llm.URL}
	}))
	res := h.mustRun(agentNode("x", "", dag.AgentSpec{}))
	assert.Equal(t, "ok", res.Output, "MAESTRO_AGENT_BASE_URL on loopback is the operator's choice")
}

// The model API client (the provider's SDK) connects through the policy's
// client: a redirect of the worker's own model API to a denied address is a
// policy denial (the OpenAI SDK refuses any redirect to another origin
// before: a request error), and the target is never reached.
func TestPolicyDeniesARedirectedModelAPI(t *testing.T) {
	for _, provider := range []string{dag.ProviderAnthropic, dag.ProviderOpenAI} {
		t.Run(provider, func(t *testing.T) {
			inner, innerHits := listen(t, "127.0.0.2", answer(200, "{}"))
			outer, _ := listen(t, "127.0.0.1", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, inner.URL+r.URL.Path, http.StatusTemporaryRedirect)
			})
			h := newHarness(t, withPolicy(policy.Default()), withAgent(provider, outer.URL))
			_, err := h.run(agentNode("design", "design", dag.AgentSpec{}))
			if provider == dag.ProviderOpenAI {
				appErr, _ := appError(t, err, ErrTypeAgentRequest, false)
				assert.Contains(t, appErr.Message(), "openai POST "+outer.URL+"/v1/chat/completions: the server redirects to another origin")
				assert.Zero(t, innerHits.Load(), "the redirect target was never reached")
				return
			}
			appErr, _ := appError(t, err, ErrTypePolicyDenied, false)
			assert.Contains(t, appErr.Message(), `node "design": executor.base_url: connection refused: `+strings.TrimPrefix(inner.URL, "http://")+` is not allowed by the worker policy: loopback addresses are denied unless listed in agent.allow`)
			assert.NotContains(t, appErr.Message(), testKey)
			assert.Zero(t, innerHits.Load(), "the redirect target was never reached")
		})
	}
}
