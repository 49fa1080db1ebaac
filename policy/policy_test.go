package policy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
)

func node(id string, spec dag.ExecutorSpec) dag.Node {
	return dag.Node{ID: id, Executor: dag.Executor{Kind: spec.Kind(), Spec: spec}}
}

func cmd(argv ...string) *dag.CommandSpec { return &dag.CommandSpec{Process: dag.Process{Argv: argv}} }

func TestDefaultPolicyRefusesEachAttack(t *testing.T) {
	withCommands := Default()
	withCommands.Kinds = append(withCommands.Kinds, dag.KindCommand)
	withCommands.Commands = []Command{{Program: "go"}, {Program: "make"}, {Program: "git", Args: []string{"status"}}}
	withCommands.Env = []string{"GITHUB_TOKEN", "CI_*"}
	tests := []struct {
		name  string
		pol   *Policy
		node  dag.Node
		field string
		want  string
	}{
		{"command kind", Default(), node("x", cmd("go", "test")), "executor.kind", `executor kind "command" is not allowed by the worker policy (allowed: noop, http, agent, approval)`},
		{"sh -c", withCommands, node("x", cmd("sh", "-c", "cat /etc/passwd")), "executor.argv", `program "sh" is not allowed by the worker policy (allowed: go, make, git status)`},
		{"absolute path of an allowed name", withCommands, node("x", cmd("/tmp/go")), "executor.argv", `program "/tmp/go" is not allowed`},
		{"allowed program, other arguments", withCommands, node("x", cmd("git", "push")), "executor.argv", `program "git" is not allowed with these arguments`},
		{"pass_env of the API token", withCommands, node("x", &dag.CommandSpec{Process: dag.Process{Argv: []string{"go"}, PassEnv: []string{"MAESTRO_API_TOKEN"}}}), "executor.pass_env", `variable "MAESTRO_API_TOKEN" is not readable by pipelines`},
		{"pass_env of a variable not listed", withCommands, node("x", &dag.CommandSpec{Process: dag.Process{Argv: []string{"go"}, PassEnv: []string{"AWS_SECRET_ACCESS_KEY"}}}), "executor.pass_env", `variable "AWS_SECRET_ACCESS_KEY" is not readable by the worker policy (allowed: GITHUB_TOKEN, CI_*)`},
		{"PATH set to find another go", withCommands, node("x", &dag.CommandSpec{Process: dag.Process{Argv: []string{"go"}, Env: map[string]string{"PATH": "/tmp/evil"}}}), "executor.env", `variable "PATH" decides which program runs: it cannot be set while the worker policy limits commands`},
		{"LD_PRELOAD", withCommands, node("x", &dag.CommandSpec{Process: dag.Process{Argv: []string{"go"}, Env: map[string]string{"LD_PRELOAD": "/tmp/evil.so"}}}), "executor.env", `variable "LD_PRELOAD" decides which program runs`},
		{"env in an http template", Default(), node("x", &dag.HTTPSpec{URL: "https://example.com", Headers: map[string]string{"Authorization": `Bearer {{env "MAESTRO_API_TOKEN"}}`}}), "executor.headers.Authorization", `variable "MAESTRO_API_TOKEN" is not readable`},
		{"env in a body", Default(), node("x", &dag.HTTPSpec{URL: "https://example.com", Body: `{{if true}}{{env "HOME"}}{{end}}`}), "executor.body", `variable "HOME" is not readable by the worker policy (allowed: none)`},
		{"computed env name", withCommands, node("x", &dag.HTTPSpec{URL: "https://example.com", Body: `{{env .Params.name}}`}), "executor.body", `{{env}} with a computed name is not allowed`},
		{"api_key_env", Default(), node("x", &dag.AgentSpec{Provider: dag.ProviderAnthropic, APIKeyEnv: "TEMPORAL_API_KEY"}), "executor.api_key_env", `variable "TEMPORAL_API_KEY" is not readable by pipelines`},
		{"agent command", Default(), node("x", &dag.AgentSpec{Provider: dag.ProviderCommand, Process: dag.Process{Argv: []string{"sh", "-c", "id"}}}), "executor.argv", `program "sh" is not allowed by the worker policy (allowed: none)`},
		{"http to loopback", Default(), node("x", &dag.HTTPSpec{URL: "http://127.0.0.1:8080/metrics"}), "executor.url", `127.0.0.1:8080 is not allowed by the worker policy: loopback addresses are denied unless listed in http.allow`},
		{"http to localhost", Default(), node("x", &dag.HTTPSpec{URL: "http://localhost:7233"}), "executor.url", `loopback addresses are denied`},
		{"http to a private address", Default(), node("x", &dag.HTTPSpec{URL: "http://10.0.0.5/admin"}), "executor.url", `10.0.0.5:80 is not allowed by the worker policy: private addresses are denied`},
		{"http to the metadata service", Default(), node("x", &dag.HTTPSpec{URL: "http://169.254.169.254/latest"}), "executor.url", `link-local addresses are denied`},
		{"http to IPv6 loopback", Default(), node("x", &dag.HTTPSpec{URL: "http://[::1]:8080/"}), "executor.url", `[::1]:8080 is not allowed`},
		{"http to a mapped IPv4 loopback", Default(), node("x", &dag.HTTPSpec{URL: "http://[::ffff:127.0.0.1]:8080/"}), "executor.url", `127.0.0.1:8080 is not allowed`},
		{"agent base URL on loopback", Default(), node("x", &dag.AgentSpec{Provider: dag.ProviderOpenAI, BaseURL: "http://127.0.0.1:11434"}), "executor.base_url", `loopback addresses are denied unless listed in agent.allow`},
		{"agent base URL elsewhere (the worker's key would go there)", Default(), node("x", &dag.AgentSpec{Provider: dag.ProviderOpenAI, BaseURL: "https://collector.example.com/v1"}), "executor.base_url", `collector.example.com:443 is not allowed by the worker policy: the host is not listed in agent.allow (public addresses are denied: agent.public is false)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := tt.pol.CheckNode(tt.node)
			for _, p := range ps {
				if p.Field == tt.field {
					assert.Equal(t, "x", p.Node)
					assert.Contains(t, p.Message, tt.want)
					return
				}
			}
			t.Fatalf("no problem on %s; got %v", tt.field, ps)
		})
	}
}

func TestAllowedNodesPass(t *testing.T) {
	pol, err := Parse([]byte(`
commands: ["go", "git status"]
env: [GITHUB_TOKEN]
http:
  allow: ["hooks.internal:8443", "10.1.0.0/16"]
`))
	require.NoError(t, err)
	assert.Contains(t, pol.Kinds, dag.KindCommand, "listing commands allows command nodes")
	for _, n := range []dag.Node{
		node("a", cmd("go", "test", "./...")),
		node("b", cmd("git", "status", "--short")),
		node("c", &dag.CommandSpec{Process: dag.Process{Argv: []string{"go"}, PassEnv: []string{"GITHUB_TOKEN"}}}),
		node("d", &dag.HTTPSpec{URL: "https://api.github.com/x", Headers: map[string]string{"Authorization": `token {{env "GITHUB_TOKEN"}}`}}),
		node("e", &dag.HTTPSpec{URL: "http://10.1.2.3/hook"}),
		node("f", &dag.HTTPSpec{URL: "https://hooks.internal:8443/x"}),
		node("g", &dag.HTTPSpec{URL: "{{.Params.url}}"}),
		node("h", &dag.NoopSpec{}),
		node("i", &dag.AgentSpec{Provider: dag.ProviderAnthropic}),
		node("j", &dag.AgentSpec{Provider: dag.ProviderOpenAI, BaseURL: "https://api.openai.com/v1"}),
	} {
		assert.Empty(t, pol.CheckNode(n), n.ID)
	}
	assert.Empty(t, AllowAll().CheckNode(node("x", cmd("sh", "-c", "id"))))
	assert.Empty(t, AllowAll().CheckNode(node("x", &dag.CommandSpec{Process: dag.Process{Argv: []string{"go"}, Env: map[string]string{"PATH": "/opt/go/bin"}}})))
	assert.Empty(t, pol.CheckNode(node("x", &dag.CommandSpec{Process: dag.Process{Argv: []string{"go"}, Env: map[string]string{"GOFLAGS": "-mod=mod"}}})))
	assert.NotEmpty(t, AllowAll().CheckNode(node("x", &dag.CommandSpec{Process: dag.Process{Argv: []string{"sh"}, PassEnv: []string{"MAESTRO_API_TOKEN"}}})),
		"MAESTRO_* is never readable, even in dev mode")
}

func TestCheckListsEveryProblem(t *testing.T) {
	err := Default().Check(dag.Pipeline{Nodes: []dag.Node{
		node("a", cmd("sh", "-c", "x")),
		node("b", &dag.HTTPSpec{URL: "http://127.0.0.1:7233"}),
		node("c", &dag.NoopSpec{}),
	}})
	var ve *dag.ValidationError
	require.ErrorAs(t, err, &ve)
	var where []string
	for _, p := range ve.Problems {
		where = append(where, p.Node+" "+p.Field)
	}
	assert.Equal(t, []string{"a executor.kind", "a executor.argv", "b executor.url"}, where)
	assert.NoError(t, Default().Check(dag.Pipeline{Nodes: []dag.Node{node("c", &dag.NoopSpec{})}}))
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(file, []byte("kinds: [noop, command]\ncommands: [make]\nenv: [CI_*]\nhttp: {public: false, schemes: [https]}\n"), 0o600))
	jsonFile := filepath.Join(dir, "policy.json")
	require.NoError(t, os.WriteFile(jsonFile, []byte(`{"commands": ["/usr/bin/make"], "agent": {"allow": ["127.0.0.1:11434"]}}`), 0o600))

	p, err := Load(Source{}, Default())
	require.NoError(t, err)
	assert.Equal(t, "default", p.Origin)

	p, err = Load(Source{File: file, Commands: []string{"go", "make test"}}, Default())
	require.NoError(t, err)
	assert.Equal(t, []string{"noop", "command"}, p.Kinds)
	assert.Equal(t, []Command{{Program: "go"}, {Program: "make", Args: []string{"test"}}}, p.Commands, "the variable replaces the file's list")
	assert.True(t, p.EnvAllowed("CI_JOB"))
	assert.False(t, p.HTTP.Public)
	assert.Equal(t, []string{"https"}, p.HTTP.Schemes)
	assert.Equal(t, "environment + file "+file, p.Origin)

	p, err = Load(Source{File: jsonFile}, Default())
	require.NoError(t, err)
	assert.True(t, p.CommandAllowed([]string{"/usr/bin/make", "all"}))
	assert.False(t, p.CommandAllowed([]string{"make"}))
	assert.NoError(t, p.Agent.CheckAddr(netip.MustParseAddrPort("127.0.0.1:11434"), "agent"))
	assert.Equal(t, append(slices.Clone(DefaultAgentHosts), "127.0.0.1:11434"), p.Agent.Allow, "the providers' APIs are always allowed")
	assert.False(t, p.Agent.Public, "agent calls carry the worker's key: no public address by default")
	assert.True(t, p.HTTP.Public)

	p, err = Load(Source{Kinds: []string{}}, Default())
	require.NoError(t, err)
	assert.Empty(t, p.Kinds, "set but empty allows no kind")

	for _, bad := range []string{"kinds: [shell]", "commands: [./run.sh]", "http: {allow: [\"a b\"]}", "http: {schemes: [ftp]}", "env: [\"A*B\"]", "unknown: 1"} {
		require.NoError(t, os.WriteFile(file, []byte(bad), 0o600))
		_, err := Load(Source{File: file}, Default())
		assert.Error(t, err, bad)
		assert.Contains(t, err.Error(), file)
	}
	_, err = Load(Source{File: filepath.Join(dir, "missing.yaml")}, Default())
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestControlChecksResolvedAddresses(t *testing.T) {
	e := Default().HTTP.With("127.0.0.1:8080", "192.168.1.0/24", "hooks.internal")
	control := e.Control("http")
	for addr, want := range map[string]string{
		"127.0.0.1:8080":     "",
		"127.0.0.1:8081":     "127.0.0.1:8081 is not allowed by the worker policy: loopback addresses are denied unless listed in http.allow",
		"127.0.0.2:8080":     "loopback",
		"[::1]:8080":         "loopback",
		"10.0.0.1:443":       "private",
		"172.16.0.1:443":     "private",
		"192.168.1.7:443":    "",
		"192.168.2.7:443":    "private",
		"[fd00::1]:443":      "private",
		"169.254.169.254:80": "link-local",
		"[fe80::1]:80":       "link-local",
		"0.0.0.0:7233":       "unspecified",
		"100.64.0.1:80":      "reserved",
		"224.0.0.1:80":       "multicast",
		"93.184.216.34:443":  "",
		"[2606:4700::1]:443": "",
	} {
		err := control(context.Background(), "tcp", addr, nil)
		if want == "" {
			assert.NoError(t, err, addr)
			continue
		}
		var d *DeniedError
		if assert.ErrorAs(t, err, &d, addr) {
			assert.Contains(t, err.Error(), want, addr)
		}
	}
	noPublic := Egress{Schemes: DefaultSchemes}
	assert.ErrorContains(t, noPublic.Control("agent")(context.Background(), "tcp", "93.184.216.34:443", nil), "public addresses are denied (agent.public is false)")
	assert.True(t, e.hostListed("HOOKS.internal.", "80"))
	assert.True(t, Egress{Allow: []string{"*.example.com:443"}}.hostListed("a.example.com", "443"))
	assert.False(t, Egress{Allow: []string{"*.example.com:443"}}.hostListed("example.com.evil", "443"))
	assert.True(t, strings.HasPrefix(Default().Describe(), "default: kinds noop, http, agent, approval; commands none; env none"))
}

func TestClientChecksTheResolvedAddress(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	// "localhost" is resolved by the system: the dial sees 127.0.0.1 or ::1.
	_, err := Default().HTTP.Client("http").Get("http://localhost:" + port + "/")
	var d *DeniedError
	require.ErrorAs(t, err, &d)
	assert.Contains(t, d.Rule, "loopback addresses are denied")
	assert.Zero(t, hits.Load())

	// Listed by name, it may resolve to any address.
	resp, err := Default().HTTP.With("localhost:" + port).Client("http").Get("http://localhost:" + port + "/")
	if err == nil {
		resp.Body.Close()
	}
	var d2 *DeniedError
	assert.False(t, errors.As(err, &d2), "listed host refused: %v", err)
}

func TestReservedAddressForms(t *testing.T) {
	control := Default().HTTP.Control("http")
	for _, addr := range []string{"[::ffff:127.0.0.1]:80", "[::7f00:1]:80", "[64:ff9b::a00:1]:80", "255.255.255.255:80", "0.1.2.3:80"} {
		assert.Error(t, control(context.Background(), "tcp", addr, nil), addr)
	}
	_, ok := AllowAll().HTTP.Client("http").Transport.(*http.Transport)
	assert.False(t, ok, "allowing everything keeps the default transport (and its proxy settings)")
}

func TestRepoAllowed(t *testing.T) {
	p := &Policy{Repos: []string{"/srv/git/*", "https://github.com/acme/*", "ssh://git@example.com/app.git"}}
	for repo, want := range map[string]bool{
		"/srv/git/app.git":                      true,
		"/srv/git/../etc":                       false,
		"/srv/gitx/app.git":                     false,
		"https://github.com/acme/app.git":       true,
		"https://github.com/acme2/app.git":      false,
		"https://github.com/other/app.git":      false,
		"https://github.com/acme/../evil/x.git": false,
		"file:///srv/git/../../home/x":          false,
		"ssh://git@example.com/app.git":         true,
		"ssh://git@example.com/app.git.backup":  false,
		"":                                      false,
	} {
		assert.Equal(t, want, p.RepoAllowed(repo), repo)
	}
	assert.False(t, Default().RepoAllowed("/srv/git/app.git"), "the default policy allows no repository")
	assert.True(t, AllowAll().RepoAllowed("/anything"))
	assert.Contains(t, p.RepoDenial("/x"), "MAESTRO_POLICY_REPOS")

	_, err := Parse([]byte("repos: ['/srv/*/x*']\n"))
	require.Error(t, err)
	pl := dag.Pipeline{Name: "p", Workspace: &dag.Workspace{Repo: "/elsewhere/app.git"}, Nodes: []dag.Node{{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})}}}
	var ve *dag.ValidationError
	require.ErrorAs(t, p.Check(pl), &ve)
	assert.Equal(t, "workspace.repo", ve.Problems[0].Field)
}
