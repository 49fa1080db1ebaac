package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
	"github.com/maestrohq/maestro/workflows"
)

// unreachable is an address nothing listens on, so a command that tried to
// connect would fail at once.
const unreachable = "127.0.0.1:1"

type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the starter with env plus a config file path that does not
// exist, so that no temporal.toml on the machine leaks in.
func runCLI(t *testing.T, env config.MapEnv, args ...string) result {
	t.Helper()
	full := config.MapEnv{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "absent.toml")}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := Main(ctx, args, &stdout, &stderr, full)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

const validYAML = `
name: build
nodes:
  - id: a
    executor: {kind: noop}
  - id: b
    depends_on: [a]
    executor: {kind: command, argv: [echo, hi]}
  - id: c
    depends_on: [a]
    executor: {kind: noop}
  - id: d
    depends_on: [b, c]
    executor: {kind: http, url: "https://example.com/hook"}
`

const validJSON = `{
  "name": "build-json",
  "mode": "dag_parallel",
  "max_parallel": 4,
  "nodes": [
    {"id": "lint", "executor": {"kind": "noop"}},
    {"id": "unit", "executor": {"kind": "noop"}},
    {"id": "package", "depends_on": ["lint", "unit"], "executor": {"kind": "noop"}}
  ]
}`

const invalidYAML = `
name: ""
mode: dag_parallel
nodes:
  - id: a
    depends_on: [zz]
    executor: {kind: noop, argv: [x]}
  - id: b
    depends_on: [c]
    executor: {kind: bogus}
  - id: c
    depends_on: [b]
    executor: {kind: command}
`

var invalidYAMLProblems = []string{
	`name: is required`,
	`node "a": executor.argv: does not apply to executor kind "noop"`,
	`node "b": executor.kind: unknown executor kind "bogus" (one of noop, command, http, agent, approval)`,
	`node "c": executor.argv: must name a program, e.g. ["go", "test", "./..."]`,
	`node "a": depends_on: unknown node "zz"`,
	`node "c": depends_on: cycle: c -> b -> c`,
}

// laterDependency is valid in the DAG modes only.
const laterDependency = "name: p\nnodes:\n- {id: a, depends_on: [b], executor: {kind: noop}}\n- {id: b, executor: {kind: noop}}\n"

const invalidJSON = `{
  "name": "j",
  "mode": "sideways",
  "timeout": "soon",
  "nodes": [
    {"id": "x", "executor": {"kind": "http"}},
    {"id": "x", "retry": {"backoff": 0.5}, "executor": {"kind": "noop"}}
  ]
}`

var invalidJSONProblems = []string{
	`mode: unknown mode "sideways" (want linear, dag_linear or dag_parallel)`,
	`timeout: "soon" is not a duration (use e.g. "30s", "5m", "1h")`,
	`node "x": executor.url: is required`,
	`node "x": id: duplicate id (also node #0)`,
	`node "x": retry.backoff: must be at least 1, got 0.5`,
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestValidate(t *testing.T) {
	parallel := config.MapEnv{"MAESTRO_ENABLE_DAG_EXECUTION": "true", "MAESTRO_ENABLE_PARALLEL_EXECUTION": "true"}
	tests := []struct {
		name     string
		file     string // name and content of the pipeline file
		content  string
		env      config.MapEnv
		flags    []string
		wantCode int
		// wantOut must all appear in stdout; wantProblems must be exactly
		// stdout's lines; wantErr must appear in stderr.
		wantOut      []string
		wantProblems []string
		wantErr      string
	}{
		{
			name: "valid YAML prints levels and one-at-a-time order", file: "dag.yaml", content: validYAML,
			wantOut: []string{
				`dag.yaml: pipeline "build" is valid (4 nodes)`,
				"mode:           linear (from environment)",
				"  0: a\n  1: b, c\n  2: d\n",
				"order (one at a time): a → b → c → d",
			},
		},
		{
			name: "valid YAML takes the default mode from the environment", file: "dag.yaml", content: validYAML, env: parallel,
			wantOut: []string{"mode:           dag_parallel (from environment)", "parallelism:    50", "  1: b, c\n"},
		},
		{
			name: "valid JSON keeps its own mode", file: "dag.json", content: validJSON,
			wantOut: []string{
				`pipeline "build-json" is valid (3 nodes)`,
				"mode:           dag_parallel (from file)",
				"parallelism:    4",
				"  0: lint, unit\n  1: package\n",
			},
		},
		{
			name: "--mode overrides the file and the environment", file: "dag.json", content: validJSON, env: parallel,
			flags:   []string{"--mode", "dag_linear", "--timeout", "10m"},
			wantOut: []string{"mode:           dag_linear (from --mode)", "parallelism:    1", "timeout:        10m0s", "order (one at a time): lint → unit → package"},
		},
		{
			name: "invalid YAML lists every problem", file: "bad.yaml", content: invalidYAML,
			wantCode: 1, wantProblems: invalidYAMLProblems, wantErr: "maestro: " + "bad.yaml: invalid pipeline (6 problems)\n",
		},
		{
			name: "invalid JSON lists every problem", file: "bad.json", content: invalidJSON,
			wantCode: 1, wantProblems: invalidJSONProblems, wantErr: "invalid pipeline (5 problems)",
		},
		{
			name: "an invalid --mode is a problem", file: "dag.yaml", content: validYAML, flags: []string{"--mode", "fast"},
			wantCode: 1, wantProblems: []string{`mode: unknown mode "fast" (want linear, dag_linear or dag_parallel) (from --mode)`},
		},
		{
			name: "linear mode rejects a dependency declared later", file: "dag.yaml",
			content: laterDependency, env: parallel,
			flags:    []string{"--mode", "linear"},
			wantCode: 1, wantProblems: []string{`node "a": depends_on: "b" is declared after this node; linear mode runs nodes in declared order`},
		},
		{
			name: "the default mode from the environment applies to a file without one", file: "dag.yaml",
			content:  laterDependency,
			wantCode: 1, wantProblems: []string{`node "a": depends_on: "b" is declared after this node; linear mode runs nodes in declared order`},
		},
		{
			name: "the same file is valid when the environment enables DAG execution", file: "dag.yaml",
			content: laterDependency, env: parallel,
			wantOut: []string{"mode:           dag_parallel (from environment)", "  0: b\n  1: a\n"},
		},
		{
			name: "an unknown field is a syntax error", file: "typo.yaml", content: "name: x\nnodse: []\n",
			wantCode: 1, wantErr: `malformed pipeline definition: unknown field "nodse"`,
		},
		{
			name: "a bad mode variable is an error", file: "dag.yaml", content: validYAML,
			env:      config.MapEnv{"MAESTRO_ENABLE_DAG_EXECUTION": "sometimes"},
			wantCode: 1, wantErr: "MAESTRO_ENABLE_DAG_EXECUTION",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file, tt.content)
			// Flags may follow the file.
			r := runCLI(t, tt.env, append([]string{"validate", path}, tt.flags...)...)
			assert.Equal(t, tt.wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			for _, want := range tt.wantOut {
				assert.Contains(t, strings.ReplaceAll(r.stdout, path, tt.file), want)
			}
			if tt.wantProblems != nil {
				assert.Equal(t, tt.wantProblems, lines(r.stdout))
			}
			if tt.wantErr != "" {
				assert.Contains(t, strings.ReplaceAll(r.stderr, path, tt.file), tt.wantErr)
			}
			if tt.wantCode == 0 {
				assert.Empty(t, r.stderr)
			}
		})
	}
}

func TestValidateMissingFile(t *testing.T) {
	r := runCLI(t, nil, "validate", filepath.Join(t.TempDir(), "nope.yaml"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no such file")
}

func TestValidateJSON(t *testing.T) {
	t.Run("valid", func(t *testing.T) {
		r := runCLI(t, nil, "validate", "--json", writeFile(t, "dag.yaml", validYAML))
		require.Equal(t, 0, r.code, r.stderr)
		var v validation
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
		assert.True(t, v.Valid)
		assert.Equal(t, "build", v.Pipeline)
		assert.Equal(t, [][]string{{"a"}, {"b", "c"}, {"d"}}, v.Levels)
		assert.Empty(t, v.Problems)
	})
	t.Run("invalid", func(t *testing.T) {
		r := runCLI(t, nil, "validate", writeFile(t, "bad.json", invalidJSON), "--json")
		assert.Equal(t, 1, r.code)
		var v validation
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
		assert.False(t, v.Valid)
		got := make([]string, len(v.Problems))
		for i, p := range v.Problems {
			got[i] = p.String()
		}
		assert.Equal(t, invalidJSONProblems, got)
	})
	t.Run("malformed", func(t *testing.T) {
		r := runCLI(t, nil, "validate", writeFile(t, "bad.json", `{"name": "x",`), "--json")
		assert.Equal(t, 1, r.code)
		var v validation
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), r.stdout)
		assert.False(t, v.Valid)
		assert.Contains(t, v.Error, "malformed pipeline definition")
	})
}

func TestStartReportsEveryProblemWithoutAServer(t *testing.T) {
	path := writeFile(t, "bad.yaml", invalidYAML)
	r := runCLI(t, nil, "start", "--file", path, "--address", unreachable)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "invalid pipeline (6 problems):\n")
	for _, p := range invalidYAMLProblems {
		assert.Contains(t, r.stderr, "\n  "+p+"\n")
	}
	assert.NotContains(t, r.stderr, "connect")

	r = runCLI(t, nil, "start", "--template", "nope", "--address", unreachable)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `maestro: unknown template "nope" (known: sdlc-parallel, sdlc-linear)`)

	r = runCLI(t, nil, "start", "--template", templates.SDLCParallel, "--requirement", "x", "--max-parallel", "9999", "--address", unreachable)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "max_parallel: 9999 exceeds the limit")
}

func TestCommandsThatNeedTemporalSayWhereTheyTried(t *testing.T) {
	for _, args := range [][]string{
		{"status", "some-id"},
		{"list"},
		{"cancel", "some-id"},
		{"pause", "some-id"},
		{"resume", "some-id"},
		{"retry", "some-id"},
		{"start", "--template", templates.SDLCParallel, "--requirement", "x"},
	} {
		t.Run(args[0], func(t *testing.T) {
			r := runCLI(t, nil, append(args, "--address", unreachable, "--namespace", "ns1")...)
			assert.Equal(t, 1, r.code)
			assert.Contains(t, r.stderr, "maestro: connect to Temporal at "+unreachable+" (namespace ns1)")
		})
	}
}

func TestConfigJSON(t *testing.T) {
	tests := []struct {
		name  string
		env   config.MapEnv
		flags []string
		want  config.Effective
	}{
		{
			name: "defaults",
			want: config.Effective{TemporalAddress: "localhost:7233", Namespace: "default", TaskQueue: workflows.DefaultTaskQueue,
				DefaultMode: "linear", DAGExecution: "(unset)", Parallel: "(unset)"},
		},
		{
			name: "DAG on, parallel off",
			env:  config.MapEnv{"MAESTRO_ENABLE_DAG_EXECUTION": "true", "MAESTRO_ENABLE_PARALLEL_EXECUTION": "false"},
			want: config.Effective{TemporalAddress: "localhost:7233", Namespace: "default", TaskQueue: workflows.DefaultTaskQueue,
				DefaultMode: "dag_linear", DAGExecution: "true", Parallel: "false"},
		},
		{
			name: "both on, address and queue from the environment",
			env: config.MapEnv{"MAESTRO_ENABLE_DAG_EXECUTION": "1", "MAESTRO_ENABLE_PARALLEL_EXECUTION": "true",
				"TEMPORAL_ADDRESS": "temporal.example.com:7233", "TEMPORAL_NAMESPACE": "prod", "MAESTRO_TASK_QUEUE": "sdlc"},
			want: config.Effective{TemporalAddress: "temporal.example.com:7233", Namespace: "prod", TaskQueue: "sdlc",
				DefaultMode: "dag_parallel", DAGExecution: "1", Parallel: "true"},
		},
		{
			name:  "flags override the environment",
			env:   config.MapEnv{"TEMPORAL_ADDRESS": "temporal.example.com:7233", "MAESTRO_TASK_QUEUE": "sdlc"},
			flags: []string{"--address", "other:7233", "--namespace", "dev", "--task-queue", "q2"},
			want: config.Effective{TemporalAddress: "other:7233", Namespace: "dev", TaskQueue: "q2",
				DefaultMode: "linear", DAGExecution: "(unset)", Parallel: "(unset)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.env, append([]string{"config", "--json"}, tt.flags...)...)
			require.Equal(t, 0, r.code, r.stderr)
			var got config.Effective
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
			// The data and API settings have their own tests in package
			// config; here, the connection and the mode.
			assert.Equal(t, config.DefaultMetricsAddr, got.MetricsAddr)
			assert.Equal(t, config.DefaultAPIAddr, got.APIAddr)
			assert.Equal(t, filepath.Join(got.DataDir, "artifacts"), got.ArtifactDir)
			assert.Equal(t, filepath.Join(got.DataDir, "worker", "procs"), got.WorkerProcDir)
			assert.Equal(t, config.DefaultTemplateMaxBytes, got.TemplateMaxBytes)
			assert.Equal(t, config.DefaultTemplateTimeout.String(), got.TemplateTimeout)
			got.DataDir, got.ArtifactDir, got.WorkerProcDir, got.MetricsAddr, got.APIAddr, got.APIRateLimit = "", "", "", "", "", 0
			assert.Equal(t, config.DefaultWorkerStopTimeout.String(), got.WorkerStopTimeout)
			got.TemplateMaxBytes, got.TemplateTimeout, got.WorkerStopTimeout = 0, "", ""
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestConfigNeverShowsTheAPIKey(t *testing.T) {
	const key, token = "very-secret-api-key-123", "very-secret-api-token-456"
	env := config.MapEnv{"TEMPORAL_API_KEY": key, config.EnvAPIToken: token}
	for _, args := range [][]string{{"config"}, {"config", "--json"}} {
		r := runCLI(t, env, args...)
		require.Equal(t, 0, r.code, r.stderr)
		assert.NotContains(t, r.stdout+r.stderr, key)
		assert.NotContains(t, r.stdout+r.stderr, token)
	}
	var got config.Effective
	r := runCLI(t, env, "config", "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.True(t, got.APIKeySet)
	assert.True(t, got.APITokenSet)
	out := runCLI(t, env, "config").stdout
	assert.Contains(t, out, "temporal api key:")
	assert.Regexp(t, `api token:\s+set`, out)
}

// TestConfigCountsAPITokensPerRole: `maestro config` shows how many tokens
// each role has (a real tokens file, MAESTRO_API_TOKENS and
// MAESTRO_API_TOKEN as admin), never a token; a malformed file is an error
// naming the line, without the token.
func TestConfigCountsAPITokensPerRole(t *testing.T) {
	const secret = "Ww5-config-secret"
	file := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(file, []byte("# team\nread:"+secret+"1\nread:"+secret+"2\noperate:"+secret+"3\n"), 0o600))
	env := config.MapEnv{config.EnvAPITokensFile: file, config.EnvAPITokens: "admin:" + secret + "4", config.EnvAPIToken: secret + "5"}
	r := runCLI(t, env, "config")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `api token:\s+set \(2 read, 1 operate, 2 admin\)`, r.stdout)
	assert.Regexp(t, `api tokens file:\s+`+regexp.QuoteMeta(file), r.stdout)
	assert.NotContains(t, r.stdout+r.stderr, secret)

	r = runCLI(t, env, "config", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout+r.stderr, secret)
	var got config.Effective
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.Equal(t, map[string]int{"read": 2, "operate": 1, "admin": 2}, got.APITokenRoles)
	assert.Equal(t, file, got.APITokensFile)

	bad := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(bad, []byte("read:ok\n\n"+secret+"\n"), 0o600))
	r = runCLI(t, config.MapEnv{config.EnvAPITokensFile: bad}, "config")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, config.EnvAPITokensFile)
	assert.Contains(t, r.stderr, "line 3")
	assert.NotContains(t, r.stdout+r.stderr, secret)
}

func TestConfigRejectsABadModeVariable(t *testing.T) {
	r := runCLI(t, config.MapEnv{"MAESTRO_ENABLE_PARALLEL_EXECUTION": "yes please"}, "config")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "maestro: MAESTRO_ENABLE_PARALLEL_EXECUTION")
}

func TestTemplates(t *testing.T) {
	r := runCLI(t, nil, "templates")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "sdlc-parallel (mode dag_parallel)")
	assert.Contains(t, r.stdout, "  level 2: backend, frontend\n")
	assert.Contains(t, r.stdout, "sdlc-linear (mode linear)")
	assert.Contains(t, r.stdout, "  level 6: deployment\n")

	r = runCLI(t, nil, "templates", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var got []templates.Info
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.Equal(t, templates.List(), got)
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // in stdout
		wantErr  string // in stderr
	}{
		{name: "no arguments", wantCode: 2, wantErr: "usage: maestro <command>"},
		{name: "help", args: []string{"help"}, wantCode: 0, wantOut: "usage: maestro <command>"},
		{name: "--help", args: []string{"--help"}, wantCode: 0, wantOut: "  validate   check a pipeline file"},
		{name: "help for a command", args: []string{"help", "start"}, wantCode: 0, wantOut: "-template name"},
		{name: "command --help", args: []string{"list", "--help"}, wantCode: 0, wantErr: "usage: maestro list"},
		{name: "unknown command", args: []string{"deploy"}, wantCode: 2, wantErr: `maestro: unknown command "deploy"`},
		{name: "unknown flag", args: []string{"templates", "--verbose"}, wantCode: 2, wantErr: "flag provided but not defined: -verbose"},
		{name: "start needs a template or a file", args: []string{"start"}, wantCode: 2, wantErr: "maestro: start: give --template"},
		{name: "start takes not both", args: []string{"start", "--template", "sdlc-parallel", "--file", "x.yaml"}, wantCode: 2, wantErr: "not both"},
		{name: "start takes no arguments", args: []string{"start", "--template", "sdlc-parallel", "extra"}, wantCode: 2, wantErr: `unexpected argument "extra"`},
		{name: "a param needs a value", args: []string{"start", "--template", "sdlc-parallel", "--param", "k"}, wantCode: 2, wantErr: `want key=value, got "k"`},
		{name: "status needs an id", args: []string{"status"}, wantCode: 2, wantErr: "maestro: status: missing workflow-id"},
		{name: "cancel takes one id", args: []string{"cancel", "a", "b"}, wantCode: 2, wantErr: `unexpected argument "b"`},
		{name: "validate needs a file", args: []string{"validate", "--json"}, wantCode: 2, wantErr: "maestro: validate: missing file"},
		{name: "list rejects an unknown status", args: []string{"list", "--status", "exploded"}, wantCode: 2, wantErr: `unknown --status "exploded" (want one of active, cancelled, completed, failed, paused, running, terminated, timed_out)`},
		{name: "list needs a positive limit", args: []string{"list", "--limit", "0"}, wantCode: 2, wantErr: "--limit must be positive"},
		{name: "a bad int flag", args: []string{"list", "--limit", "many"}, wantCode: 2, wantErr: `invalid value "many" for flag -limit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, nil, tt.args...)
			assert.Equal(t, tt.wantCode, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			if tt.wantOut != "" {
				assert.Contains(t, r.stdout, tt.wantOut)
			}
			if tt.wantErr != "" {
				assert.Contains(t, r.stderr, tt.wantErr)
			}
		})
	}
}

// A bad flag value is one line naming the flag, and where the usage is;
// not the command's whole usage.
func TestBadFlagIsOneLine(t *testing.T) {
	r := runCLI(t, nil, "start", "--template", "sdlc-parallel", "--max-parallel", "abc")
	assert.Equal(t, 2, r.code)
	assert.Equal(t, "maestro: start: invalid value \"abc\" for flag -max-parallel: parse error\nrun 'maestro help start' for usage\n", r.stderr)
}

func TestUsageListsEveryCommand(t *testing.T) {
	r := runCLI(t, nil, "help")
	for _, c := range commands() {
		assert.Contains(t, r.stdout, "\n  "+c.name+" ")
	}
}

func TestListRejectsAnUnknownStatusBeforeAskingTheServer(t *testing.T) {
	svc := runs.New(nil, runs.Config{})
	_, _, err := svc.List(context.Background(), runs.ListFilter{Status: "exploded"})
	require.Error(t, err)
	assert.True(t, errors.Is(err, runs.ErrInvalidRequest))
	assert.Contains(t, err.Error(), `"exploded"`)
}

func TestPrintStatus(t *testing.T) {
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) *time.Time { t := start.Add(d); return &t }
	st := &run.Status{
		WorkflowID: "wf-1", RunID: "run-1", Pipeline: "build", Mode: "dag_parallel", FailurePolicy: "fail_fast",
		Status: run.Failed, Error: `node "test" failed: exit status 1`,
		StartedAt: start, EndedAt: at(3 * time.Second),
		Nodes: []run.NodeStatus{
			{ID: "compile", Phase: "backend", Status: run.NodeCompleted, Attempts: 1, StartedAt: at(0), EndedAt: at(1500 * time.Millisecond), Output: "ok\nall good"},
			{ID: "test", Phase: "testing", Status: run.NodeFailed, Attempts: 3, StartedAt: at(2 * time.Second), EndedAt: at(2*time.Second + 250*time.Millisecond), Error: "exit status 1"},
			{ID: "ship", Status: run.NodeSkipped, Error: `dependency "test" failed`},
			{ID: "docs", Status: run.NodeCompleted, Reused: true, Output: strings.Repeat("x", 200)},
		},
		CompletedNodes: 2, TotalNodes: 4,
		Counts: map[run.NodeState]int{run.NodeCompleted: 2, run.NodeFailed: 1, run.NodeSkipped: 1},
	}
	var b bytes.Buffer
	printStatus(&b, st)
	out := b.String()
	assert.Contains(t, out, "run:       wf-1 (run id run-1)\n")
	assert.Contains(t, out, "status:    failed, 2/4 nodes completed (failed 1, skipped 1)\n")
	assert.Contains(t, out, "took 3s\n")
	assert.Contains(t, out, `error:     node "test" failed: exit status 1`)
	table := lines(out[strings.Index(out, "NODE"):])
	require.Len(t, table, 5)
	assert.Equal(t, []string{"NODE", "PHASE", "STATUS", "ATTEMPTS", "DURATION", "RESULT"}, strings.Fields(table[0]))
	assert.Equal(t, []string{"compile", "backend", "completed", "1", "1.5s", "ok", "all", "good"}, strings.Fields(table[1]))
	assert.Equal(t, []string{"test", "testing", "failed", "3", "250ms", "exit", "status", "1"}, strings.Fields(table[2]))
	assert.Equal(t, []string{"ship", "-", "skipped", "-", "-", "dependency", `"test"`, "failed"}, strings.Fields(table[3]))
	assert.Contains(t, table[4], "(reused) xxx")
	assert.True(t, strings.HasSuffix(table[4], "x…"), table[4])
}

// TestVersion prints the build and the workflow code's version: its
// patches and their hash, which differ between builds whose workflow code
// replays histories differently.
func TestVersion(t *testing.T) {
	code := workflows.WorkflowCodeVersion()
	r := runCLI(t, nil, "version")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^maestro +\S+`, r.stdout)
	assert.Contains(t, r.stdout, "workflow code "+code.String()+"\n")
	assert.Contains(t, r.stdout, "usage-in-memo=1")

	r = runCLI(t, nil, "--version", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var got struct {
		Build        string                `json:"build"`
		WorkflowCode workflows.CodeVersion `json:"workflow_code"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got), r.stdout)
	assert.NotEmpty(t, got.Build)
	assert.Equal(t, code, got.WorkflowCode)
}

// What the CLI prints of a node's output or an error is one line, and
// shows what a terminal would act on instead of passing it on.
func TestOneLineEscapesControls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain  text\nover\tlines", "plain text over lines"},
		{"a\x00b \x1b[31m red", `a\x00b \x1b[31m red`},
		{"osc \x1b]52;c;aGk=\x07", `osc \x1b]52;c;aGk=\x07`},
		{"c1 \u009b2J", `c1 \x9b2J`},
		{"bad \xff\xfe utf-8", "bad \uFFFD utf-8"},
	} {
		assert.Equal(t, tc.want, oneLine(tc.in), "%q", tc.in)
	}
}

// A pipeline file named "-" is read from standard input, as far as the
// definition limit.
func TestPipelineFromStandardInput(t *testing.T) {
	run := func(stdin io.Reader, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		a := &app{stdin: stdin, stdout: &stdout, stderr: &stderr, env: config.MapEnv{}}
		return a.main(context.Background(), args), stdout.String(), stderr.String()
	}
	code, out, errOut := run(strings.NewReader("name: x\nnodes: [{id: a, executor: {kind: noop}}]\n"), "validate", "-")
	assert.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "a")

	code, _, errOut = run(io.LimitReader(zeros{}, 3<<20), "validate", "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "larger than")

	code, _, errOut = run(nil, "validate", "/dev/null")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "not a regular file (to read a pipeline from a pipe, use - for standard input)")

	code, _, errOut = run(nil, "validate", "-")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no standard input")
}

// zeros reads as endless NUL bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }
