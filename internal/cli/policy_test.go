package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

const forbiddenYAML = `
name: evil
nodes:
  - id: shell
    executor: {kind: command, argv: [sh, -c, "cat /etc/passwd"], pass_env: [MAESTRO_API_TOKEN]}
  - id: token
    executor:
      kind: http
      url: https://example.com/
      headers: {X-Token: '{{env "MAESTRO_API_TOKEN"}}'}
  - id: metrics
    executor: {kind: http, url: "http://127.0.0.1:8080/metrics"}
  - id: internal
    executor: {kind: http, url: "http://10.0.0.1/admin"}
  - id: model
    executor: {kind: agent, provider: openai, model: m, base_url: "http://127.0.0.1:7233", api_key_env: AWS_SECRET_ACCESS_KEY}
`

// wantProblems are forbiddenYAML's problems under a policy allowing
// commands go and make and nothing else more than the default.
var wantProblems = []string{
	`node "shell": executor.argv: program "sh" is not allowed by the worker policy (allowed: go, make)`,
	`node "shell": executor.pass_env: variable "MAESTRO_API_TOKEN" is not readable by pipelines: MAESTRO_* and TEMPORAL_* variables never are, whatever the worker policy says`,
	`node "token": executor.headers.X-Token: variable "MAESTRO_API_TOKEN" is not readable by pipelines`,
	`node "metrics": executor.url: 127.0.0.1:8080 is not allowed by the worker policy: loopback addresses are denied unless listed in http.allow`,
	`node "internal": executor.url: 10.0.0.1:80 is not allowed by the worker policy: private addresses are denied unless listed in http.allow`,
	`node "model": executor.api_key_env: variable "AWS_SECRET_ACCESS_KEY" is not readable by the worker policy (allowed: none)`,
	`node "model": executor.base_url: 127.0.0.1:7233 is not allowed by the worker policy: loopback addresses are denied unless listed in agent.allow`,
}

// maestro start refuses a forbidden pipeline with every problem, before
// connecting to Temporal (the address here is unreachable).
func TestStartRefusesWhatThePolicyForbids(t *testing.T) {
	file := writeFile(t, "evil.yaml", forbiddenYAML)
	r := runCLI(t, config.MapEnv{config.EnvPolicyCommands: "go,make"}, "start", "--file", file, "--address", "127.0.0.1:1")
	assert.Equal(t, 1, r.code)
	for _, w := range wantProblems {
		assert.Contains(t, r.stderr, w)
	}
	assert.NotContains(t, r.stderr, "connect to Temporal", "nothing was started")

	bad := writeFile(t, "policy.yaml", "kinds: [shell]\n")
	r = runCLI(t, config.MapEnv{config.EnvPolicyFile: bad}, "start", "--file", file)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `worker policy (file `+bad+`): kinds: unknown executor kind "shell"`)
}

func TestConfigShowsThePolicy(t *testing.T) {
	r := runCLI(t, nil, "config")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^worker policy: +default$`, r.stdout)
	assert.Regexp(t, `(?m)^  kinds: +noop, http, agent, approval$`, r.stdout)
	assert.Regexp(t, `(?m)^  commands: +none$`, r.stdout)

	file := writeFile(t, "policy.json", `{"commands": ["go", "git status"], "env": ["CI_*"], "http": {"allow": ["10.0.0.0/8"]}}`)
	r = runCLI(t, config.MapEnv{config.EnvPolicyFile: file, config.EnvPolicyEnv: "GITHUB_TOKEN"}, "config", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var got struct {
		PolicyFile string         `json:"policy_file"`
		Policy     *policy.Policy `json:"policy"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
	assert.Equal(t, file, got.PolicyFile)
	assert.Equal(t, []string{"noop", "http", "agent", "approval", "command"}, got.Policy.Kinds)
	assert.Equal(t, []policy.Command{{Program: "go"}, {Program: "git", Args: []string{"status"}}}, got.Policy.Commands)
	assert.Equal(t, []string{"GITHUB_TOKEN"}, got.Policy.Env, "the variable replaces the file's list")
	assert.Equal(t, []string{"10.0.0.0/8"}, got.Policy.HTTP.Allow)
	assert.Equal(t, "environment + file "+file, got.Policy.Origin)
}

// The API process applies the default worker policy to starts: a forbidden
// pipeline is 422 with every problem, before Temporal is involved.
func TestAPIRefusesWhatTheDefaultPolicyForbids(t *testing.T) {
	env := config.MapEnv{
		"TEMPORAL_ADDRESS":  "127.0.0.1:1", // unreachable: nothing may start
		"MAESTRO_LOG_LEVEL": "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runMain(ctx, io.Discard, env, ready, "api", "--listen", "127.0.0.1:0") }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	p, err := dag.Parse([]byte(forbiddenYAML))
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{"dag": p})
	require.NoError(t, err)
	resp, err := http.Post("http://"+addr+"/api/workflows", "application/json", strings.NewReader(string(body)))
	require.NoError(t, err)
	defer resp.Body.Close()
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Details struct {
				Problems []dag.Problem `json:"problems"`
			} `json:"details"`
		} `json:"error"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	var got []string
	for _, d := range e.Error.Details.Problems {
		got = append(got, `node "`+d.Node+`": `+d.Field+": "+d.Message)
	}
	for _, w := range []string{
		`node "shell": executor.kind: executor kind "command" is not allowed by the worker policy (allowed: noop, http, agent, approval)`,
		`node "shell": executor.argv: program "sh" is not allowed by the worker policy (allowed: none)`,
		wantProblems[3], wantProblems[4], wantProblems[6],
	} {
		assert.Contains(t, got, w)
	}

	// Validation reports the same problems.
	resp2, err := http.Post("http://"+addr+"/api/dags/validate", "application/yaml", strings.NewReader(forbiddenYAML))
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, http.StatusUnprocessableEntity, resp2.StatusCode)

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}

// listenOn serves handler on ip (any port), counting requests.
func listenOn(t *testing.T, ip string, handler http.HandlerFunc) (url string, hits *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	require.NoError(t, err)
	hits = &atomic.Int32{}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		handler(w, r)
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

// TestWorkerEnforcesThePolicy runs `maestro worker` with a policy allowing
// one loopback server against a real Temporal server, and starts runs
// without a start-side check (as anyone who can reach Temporal can): the
// worker refuses a shell, a loopback address behind a template, the API
// token and a redirect from the allowed server to another loopback
// address, each as a non-retryable PolicyDenied, and runs what is allowed.
func TestWorkerEnforcesThePolicy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	srv := temporalServer()
	const queue = "worker-policy-test"
	internal, internalHits := listenOn(t, "127.0.0.2", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "internal") })
	allowed, _ := listenOn(t, "127.0.0.1", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, internal+"/secret", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "hello")
	})
	env := config.MapEnv{
		"TEMPORAL_CONFIG_FILE":    filepath.Join(t.TempDir(), "absent.toml"),
		config.EnvDataDir:         t.TempDir(),
		config.EnvArtifactDir:     t.TempDir(),
		config.EnvWorkerProcDir:   t.TempDir(),
		config.EnvMetricsAddr:     "",
		config.EnvPolicyHTTPAllow: strings.TrimPrefix(allowed, "http://"),
		"MAESTRO_LOG_LEVEL":       "info",
	}
	t.Setenv("MAESTRO_API_TOKEN", "api-token-secret")
	var logs syncBuffer
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runMain(ctx, &logs, env, nil, "worker", "--address", srv.HostPort(), "--namespace", srv.Namespace(), "--task-queue", queue)
	}()
	defer func() {
		stop()
		<-done
	}()
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), "worker policy") }, 10*time.Second, 20*time.Millisecond, logs.String())
	assert.Contains(t, logs.String(), "http public addresses and "+strings.TrimPrefix(allowed, "http://"))

	ctx2, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := runs.New(srv.Client, runs.Config{TaskQueue: queue, DefaultMode: dag.ModeDAGParallel})
	node := func(id string, spec dag.ExecutorSpec) dag.Node {
		return dag.Node{ID: id, Retry: &dag.Retry{MaxAttempts: 3}, Executor: dag.NewExecutor(spec)}
	}
	for _, tc := range []struct {
		name string
		node dag.Node
		want string
	}{
		{"shell", node("shell", &dag.CommandSpec{Process: dag.Process{Argv: []string{"sh", "-c", "cat /etc/passwd"}}}),
			`node "shell": executor.argv: program "sh" is not allowed by the worker policy (allowed: none)`},
		{"token", node("token", &dag.HTTPSpec{URL: allowed + "/", Headers: map[string]string{"X-Token": `{{env "MAESTRO_API_TOKEN"}}`}}),
			`node "token": executor.headers.X-Token: variable "MAESTRO_API_TOKEN" is not readable by pipelines`},
		{"loopback behind a template", node("temporal", &dag.HTTPSpec{URL: "{{.Params.url}}"}),
			`node "temporal": executor.url: ` + srv.HostPort() + ` is not allowed by the worker policy: loopback addresses are denied`},
		{"redirect", node("redirect", &dag.HTTPSpec{URL: allowed + "/redirect"}),
			`node "redirect": executor.url: connection refused: ` + strings.TrimPrefix(internal, "http://") + ` is not allowed by the worker policy: loopback addresses are denied unless listed in http.allow`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started, err := svc.Start(ctx2, runs.StartRequest{DAG: &dag.Pipeline{Name: "attack", Nodes: []dag.Node{tc.node},
				Params: map[string]any{"url": "http://" + srv.HostPort() + "/"}}})
			require.NoError(t, err)
			st, err := svc.Wait(ctx2, started.WorkflowID)
			require.NoError(t, err)
			require.Equal(t, run.Failed, st.Status)
			require.Len(t, st.Nodes, 1)
			assert.Equal(t, "PolicyDenied", st.Nodes[0].ErrorType)
			assert.Equal(t, int32(1), st.Nodes[0].Attempts, "not retried")
			assert.Contains(t, st.Nodes[0].Error, tc.want)
			assert.NotContains(t, st.Nodes[0].Error, "api-token-secret")
		})
	}
	assert.Zero(t, internalHits.Load(), "the redirect target was never reached")

	ok, err := svc.Start(ctx2, runs.StartRequest{DAG: &dag.Pipeline{Name: "fine", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{
		node("noop", &dag.NoopSpec{}),
		node("hook", &dag.HTTPSpec{URL: allowed + "/hook"}),
	}}})
	require.NoError(t, err)
	st, err := svc.Wait(ctx2, ok.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, "%+v", st)
}
