package dag

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const fullJSON = `{
  "name": "release",
  "description": "build and ship",
  "mode": "dag_parallel",
  "max_parallel": 4,
  "timeout": "1h30m",
  "failure_policy": "continue",
  "params": {"requirement": "add login", "replicas": 3, "flags": {"beta": true}, "tags": ["a", "b"]},
  "nodes": [
    {"id": "plan", "name": "Plan", "phase": "requirements",
     "executor": {"kind": "noop", "duration": "10ms", "fail_attempts": 1, "output": "planned"}},
    {"id": "build", "phase": "backend", "depends_on": ["plan"],
     "executor": {"kind": "command", "argv": ["go", "build", "./..."], "env": {"CGO_ENABLED": "0"},
                  "pass_env": ["GOPROXY"], "dir": "/src"},
     "retry": {"max_attempts": 5, "initial_interval": "500ms", "backoff": 1.5, "max_interval": "30s",
               "non_retryable": ["CommandExit"]},
     "timeout": "20m", "heartbeat_timeout": "45s"},
    {"id": "notify", "depends_on": ["plan", "build"],
     "executor": {"kind": "http", "method": "POST", "url": "https://hooks.example.com/x",
                  "headers": {"Authorization": "Bearer {{env \"TOKEN\"}}"}, "body": "{\"ok\": true}"}}
  ]
}`

const fullYAML = `
# The same pipeline as fullJSON.
name: release
description: build and ship
mode: dag_parallel
max_parallel: 4
timeout: 1h30m
failure_policy: continue
params:
  requirement: add login
  replicas: 3
  flags:
    beta: true
  tags: [a, b]
nodes:
  - id: plan
    name: Plan
    phase: requirements
    executor:
      kind: noop
      duration: 10ms
      fail_attempts: 1
      output: planned
  - id: build
    phase: backend
    depends_on: [plan]
    executor:
      kind: command
      argv: [go, build, ./...]
      env: {CGO_ENABLED: "0"}
      pass_env: [GOPROXY]
      dir: /src
    retry:
      max_attempts: 5
      initial_interval: 500ms
      backoff: 1.5
      max_interval: 30s
      non_retryable: [CommandExit]
    timeout: 20m
    heartbeat_timeout: 45s
  - id: notify
    depends_on:
      - plan
      - build
    executor:
      kind: http
      method: POST
      url: https://hooks.example.com/x
      headers:
        Authorization: 'Bearer {{env "TOKEN"}}'
      body: '{"ok": true}'
`

func fullPipeline() *Pipeline {
	return &Pipeline{
		Name:          "release",
		Description:   "build and ship",
		Mode:          ModeDAGParallel,
		MaxParallel:   4,
		Timeout:       "1h30m",
		FailurePolicy: Continue,
		Params: map[string]any{
			"requirement": "add login",
			"replicas":    float64(3),
			"flags":       map[string]any{"beta": true},
			"tags":        []any{"a", "b"},
		},
		Nodes: []Node{
			{ID: "plan", Name: "Plan", Phase: "requirements",
				Executor: NewExecutor(&NoopSpec{Duration: "10ms", FailAttempts: 1, Output: "planned"})},
			{ID: "build", Phase: "backend", DependsOn: []string{"plan"},
				Executor: NewExecutor(&CommandSpec{Process: Process{Argv: []string{"go", "build", "./..."}, Env: map[string]string{"CGO_ENABLED": "0"},
					PassEnv: []string{"GOPROXY"}, Dir: "/src"}}),
				Retry: &Retry{MaxAttempts: 5, InitialInterval: "500ms", Backoff: 1.5, MaxInterval: "30s",
					NonRetryable: []string{"CommandExit"}},
				Timeout: "20m", HeartbeatTimeout: "45s"},
			{ID: "notify", DependsOn: []string{"plan", "build"},
				Executor: NewExecutor(&HTTPSpec{Method: "POST", URL: "https://hooks.example.com/x",
					Headers: map[string]string{"Authorization": `Bearer {{env "TOKEN"}}`}, Body: `{"ok": true}`})},
		},
	}
}

func TestParseJSONAndYAMLAgree(t *testing.T) {
	fromJSON, err := Parse([]byte(fullJSON))
	require.NoError(t, err)
	fromYAML, err := Parse([]byte(fullYAML))
	require.NoError(t, err)
	require.Equal(t, fromJSON, fromYAML)
	require.Equal(t, fullPipeline(), fromJSON)
	require.NoError(t, fromJSON.Validate())

	// Surrounding blank space is ignored either way.
	padded, err := Parse([]byte("\n\t  " + fullJSON + "\n\n"))
	require.NoError(t, err)
	require.Equal(t, fromJSON, padded)
}

func TestParseDurationsStayText(t *testing.T) {
	p, err := Parse([]byte(fullYAML))
	require.NoError(t, err)
	assert.Equal(t, Duration("1h30m"), p.Timeout)
	assert.Equal(t, Duration("500ms"), p.Nodes[1].Retry.InitialInterval)

	tests := []struct {
		d    Duration
		want time.Duration
	}{
		{p.Timeout, 90 * time.Minute},
		{p.Nodes[0].Executor.Spec.(*NoopSpec).Duration, 10 * time.Millisecond},
		{p.Nodes[1].Timeout, 20 * time.Minute},
		{p.Nodes[1].HeartbeatTimeout, 45 * time.Second},
		{p.Nodes[1].Retry.MaxInterval, 30 * time.Second},
		{"", 0},
		{"0", 0},
		{"-2s", -2 * time.Second},
	}
	for _, tt := range tests {
		got, err := tt.d.Parse()
		require.NoError(t, err, tt.d)
		assert.Equal(t, tt.want, got, tt.d)
	}

	_, err = Duration("30").Parse()
	require.ErrorContains(t, err, `"30" is not a duration`)

	// A YAML duration that looks like a number is a type error, not a
	// silent zero.
	_, err = Parse([]byte("name: x\ntimeout: 30\nnodes: []\n"))
	require.ErrorIs(t, err, ErrSyntax)
	assert.ErrorContains(t, err, `timeout: expected a duration string (e.g. "30s"), got number`)
}

func TestDurationOr(t *testing.T) {
	def := time.Minute
	assert.Equal(t, def, Duration("").Or(def))
	assert.Equal(t, def, Duration("0s").Or(def))
	assert.Equal(t, def, Duration("-1s").Or(def))
	assert.Equal(t, def, Duration("bogus").Or(def))
	assert.Equal(t, 5*time.Second, Duration("5s").Or(def))
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		msgs []string // substrings of the error
	}{
		{"empty", "", []string{"empty document"}},
		{"blank", " \n\t\r\n ", []string{"empty document"}},
		{"only a YAML comment", "# nothing here\n", []string{"empty document"}},
		{"only a YAML document marker", "---\n", []string{"must be a mapping"}},
		{"unknown field in JSON", `{"name": "x", "nodes": [{"id": "a", "depend_on": ["b"], "executor": {"kind": "noop"}}]}`,
			[]string{`unknown field "depend_on"`}},
		{"unknown field in YAML", "name: x\nnodes:\n  - id: a\n    depend_on: [b]\n", []string{`unknown field "depend_on"`}},
		{"unknown top-level field", `{"name": "x", "parallelism": 3, "nodes": []}`, []string{`unknown field "parallelism"`}},
		{"unknown executor field", "name: x\nnodes:\n  - id: a\n    executor: {kind: command, args: [ls]}\n",
			[]string{`unknown field "args"`}},
		{"wrong type in JSON", "{\"name\": \"x\",\n \"max_parallel\": \"x\", \"nodes\": []}",
			[]string{`max_parallel: expected an integer, got string (line 2, column`}},
		{"wrong type in YAML", "name: x\nmax_parallel: x\nnodes: []\n", []string{"max_parallel: expected an integer, got string"}},
		{"nested wrong type", `{"name": "x", "nodes": [{"id": "a", "executor": {"kind": 5}}]}`,
			[]string{"nodes.executor.kind: expected a string, got number"}},
		{"string for a list", "name: x\nnodes:\n  - id: b\n    depends_on: a\n", []string{"nodes.depends_on: expected a list, got string"}},
		{"list for an object", "name: x\nnodes:\n  - id: b\n    executor: [noop]\n", []string{"nodes.executor: expected an object, got array"}},
		{"fraction for an integer", `{"name": "x", "max_parallel": 1.5, "nodes": []}`, []string{"max_parallel: expected an integer"}},
		{"YAML list at top level", "- name: x\n- name: y\n", []string{"the document must be a mapping"}},
		{"JSON list at top level", `[{"name": "x"}]`, []string{"the document must be a mapping"}},
		{"scalar at top level", "just words", []string{"the document must be a mapping"}},
		{"null at top level", "null", []string{"the document must be a mapping"}},
		{"trailing JSON object", `{"name": "x", "nodes": []} {"name": "y"}`, []string{"unexpected data after the pipeline object"}},
		{"trailing junk", `{"name": "x", "nodes": []} junk`, []string{"unexpected data after the pipeline object"}},
		{"trailing comma-separated object", `{"name": "x", "nodes": []}, {}`, []string{"unexpected data after the pipeline object (line 1, column 27)"}},
		{"second YAML document", "name: x\nnodes: []\n---\nname: y\n", []string{"unexpected second YAML document"}},
		{"truncated JSON", `{"name": "x", "nodes": [`, []string{"unexpected EOF"}},
		{"JSON syntax error", "{\n  \"name\": \"x\",\n  \"nodes\": [,]\n}",
			[]string{"invalid character ',' looking for beginning of value (line 3, column 13)"}},
		{"JSON syntax error after leading blank lines", "\n\n{\"name\": \"x\",\n \"nodes\": [,]}",
			[]string{"(line 4, column 12)"}},
		{"YAML syntax error", "name: x\nnodes: [\n", []string{"yaml:"}},
		{"YAML bad indentation", "name: x\n  nodes: []\n", []string{"yaml:"}},
		{"YAML duplicate key", "name: x\nname: y\n", []string{`mapping key "name" already defined`}},
		{"YAML NaN", "name: x\nnodes:\n  - id: a\n    retry: {backoff: .nan}\n", []string{"unsupported value: NaN"}},
		{"YAML key that is a list", "name: x\nparams:\n  ? [a, b]\n  : c\n", []string{"invalid map key"}},
		{"YAML key that is null", "name: x\nparams: {~: c}\n", []string{"params.(key): mapping key <nil> is not a string"}},
		{"YAML keys that are the same text", "name: x\nparams: {1: a, \"1\": b}\n", []string{`mapping key "1" already defined`}},
		{"YAML keys that collide as text", "name: x\nenv: {a: {1: a, 1.0: b}}\n", []string{`env.a.1: mapping key "1" is defined twice`}},
		{"too large", "name: x\ndescription: " + strings.Repeat("x", MaxDefinitionBytes) + "\n", []string{"larger than 2097152 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc))
			require.Error(t, err)
			assert.Nil(t, p)
			assert.True(t, errors.Is(err, ErrSyntax), "errors.Is(%v, ErrSyntax)", err)
			for _, m := range tt.msgs {
				assert.Contains(t, err.Error(), m)
			}
			assert.True(t, strings.HasPrefix(err.Error(), ErrSyntax.Error()+": "), err.Error())
		})
	}
}

func TestParseYAMLDetails(t *testing.T) {
	// A final empty document, a leading document marker and an end marker
	// are all fine.
	for _, doc := range []string{
		"name: x\nnodes: []\n---\n",
		"---\nname: x\nnodes: []\n",
		"name: x\nnodes: []\n...\n",
	} {
		p, err := Parse([]byte(doc))
		require.NoError(t, err, doc)
		assert.Equal(t, &Pipeline{Name: "x", Nodes: []Node{}}, p, doc)
	}

	// YAML keys that are not strings become text, as JSON would have them.
	p, err := Parse([]byte("name: x\nparams: {1: one, true: yes, 2.5: f, nested: [{3: three}]}\n"))
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"1": "one", "true": "yes", "2.5": "f",
		"nested": []any{map[string]any{"3": "three"}},
	}, p.Params)

	// Anchors and aliases expand.
	p, err = Parse([]byte(`
name: x
nodes:
  - id: a
    executor: &noop {kind: noop, output: same}
  - id: b
    executor: *noop
`))
	require.NoError(t, err)
	assert.Equal(t, p.Nodes[0].Executor, p.Nodes[1].Executor)

	// YAML 1.1 words stay strings in YAML 1.2; a name of digits is not a
	// string.
	p, err = Parse([]byte("name: yes\nmode: linear\nnodes: []\n"))
	require.NoError(t, err)
	assert.Equal(t, "yes", p.Name)
	_, err = Parse([]byte("name: 2024\nnodes: []\n"))
	require.ErrorIs(t, err, ErrSyntax)
	assert.ErrorContains(t, err, "name: expected a string, got number")
}

func TestParseKeepsJSONFieldsAsGiven(t *testing.T) {
	// HTML-sensitive characters survive the YAML to JSON step.
	p, err := Parse([]byte("name: x\nnodes:\n  - id: a\n    executor: {kind: http, url: 'https://x/?a=1&b=<2>'}\n"))
	require.NoError(t, err)
	assert.Equal(t, "https://x/?a=1&b=<2>", p.Nodes[0].Executor.Spec.(*HTTPSpec).URL)
}

func TestParseFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	require.NoError(t, os.WriteFile(good, []byte(fullYAML), 0o600))
	p, err := ParseFile(good)
	require.NoError(t, err)
	assert.Equal(t, fullPipeline(), p)

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"name": 1}`), 0o600))
	_, err = ParseFile(bad)
	require.ErrorIs(t, err, ErrSyntax)
	assert.True(t, strings.HasPrefix(err.Error(), bad+": "), err.Error())

	_, err = ParseFile(filepath.Join(dir, "missing.yaml"))
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.NotErrorIs(t, err, ErrSyntax)
	assert.ErrorContains(t, err, "read pipeline")
}

// A pipeline file is read only as far as the limit, and only when it is a
// regular file: /dev/zero once took 16 GB, and a FIFO blocked for good.
func TestParseFileIsBounded(t *testing.T) {
	start := time.Now()
	_, err := ParseFile("/dev/zero")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")

	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	_, err = ParseFile(fifo)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")

	big := filepath.Join(t.TempDir(), "big.json")
	require.NoError(t, os.WriteFile(big, nil, 0o600))
	require.NoError(t, os.Truncate(big, 50<<20)) // sparse: 50 MiB of NULs
	_, err = ParseFile(big)
	require.ErrorIs(t, err, ErrSyntax)
	assert.Contains(t, err.Error(), "larger than")
	assert.Less(t, time.Since(start), 30*time.Second, "generous bound for a loaded machine")
}

func TestParseLimitsYAMLButNotJSON(t *testing.T) {
	big := strings.Repeat("x", MaxYAMLBytes)
	_, err := Parse([]byte("name: x\ndescription: " + big + "\nnodes: [{id: a, executor: {kind: noop}}]\n"))
	require.ErrorIs(t, err, ErrSyntax)
	assert.Contains(t, err.Error(), "send larger pipelines as JSON")
	p, err := Parse([]byte(`{"name": "x", "description": "` + big + `", "nodes": [{"id": "a", "executor": {"kind": "noop"}}]}`))
	require.NoError(t, err)
	assert.Len(t, p.Description, MaxYAMLBytes)
}

// A YAML mapping's keys are capped before decoding: the decoder checks
// duplicates pair by pair, so one huge mapping would cost seconds of CPU.
func TestParseCapsYAMLMappings(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: x\nnodes: [{id: a, executor: {kind: noop}}]\nparams:\n")
	for i := range MaxYAMLMappingKeys + 1 {
		fmt.Fprintf(&b, "  k%d: v\n", i)
	}
	_, err := Parse([]byte(b.String()))
	require.ErrorIs(t, err, ErrSyntax)
	assert.Contains(t, err.Error(), "line 4: a mapping of 1001 keys exceeds the limit of 1000")

	// Many mappings at the limit parse in linear time: ~1 MB in well
	// under the seconds one mapping of the same size took.
	b.Reset()
	b.WriteString("name: x\nnodes: [{id: a, executor: {kind: noop}}]\nparams:\n")
	for m := range 40 {
		fmt.Fprintf(&b, "  m%d:\n", m)
		for i := range MaxYAMLMappingKeys {
			fmt.Fprintf(&b, "    k%d: [a, b]\n", i)
		}
	}
	require.Less(t, b.Len(), MaxYAMLBytes)
	start := time.Now()
	p, err := Parse([]byte(b.String()))
	require.NoError(t, err)
	assert.Len(t, p.Params, 40)
	t.Logf("%d bytes of YAML parsed in %s", b.Len(), time.Since(start))
	assert.Less(t, time.Since(start), 5*time.Second, "generous bound for a loaded machine")
}

// Aliases of a large value are counted as what they expand to: a 300 KB
// document of 900 aliases of one 300 KB string would decode to 270 MB (and
// its JSON to as much again), so it is refused before decoding; aliases
// that stay small are fine.
func TestParseRefusesAliasAmplification(t *testing.T) {
	big := strings.Repeat("x", 300_000)
	aliases := strings.TrimSuffix(strings.Repeat("*s, ", 900), ", ")
	doc := "name: x\nnodes: [{id: a, executor: {kind: noop}}]\nparams: {s: &s \"" + big + "\", l: [" + aliases + "]}\n"
	_, err := Parse([]byte(doc))
	require.ErrorIs(t, err, ErrSyntax)
	assert.Contains(t, err.Error(), "aliases expanded")

	// Nested anchors multiply: ten levels of ten aliases each.
	var b strings.Builder
	b.WriteString("name: x\nnodes: [{id: a, executor: {kind: noop}}]\nparams:\n  l0: &l0 [aaaaaaaaaa]\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d, ", i-1), 10), ", "))
	}
	_, err = Parse([]byte(b.String()))
	require.ErrorIs(t, err, ErrSyntax)

	// A small anchor used a few hundred times parses.
	small := strings.TrimSuffix(strings.Repeat("*n, ", 300), ", ")
	p, err := Parse([]byte("name: x\nnodes: [{id: a, executor: {kind: noop}}]\nparams: {n: &n {k: v}, l: [" + small + "]}\n"))
	require.NoError(t, err)
	assert.Len(t, p.Params["l"], 300)
}
