package dag

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func noop(id string, deps ...string) Node {
	return Node{ID: id, DependsOn: deps, Executor: NewExecutor(&NoopSpec{})}
}

// executor decodes a flat executor object, as a parsed pipeline holds it
// (with fields of other kinds, which Go code cannot set).
func executor(js string) Executor {
	var e Executor
	if err := json.Unmarshal([]byte(js), &e); err != nil {
		panic(err)
	}
	return e
}

// validPipeline is a small pipeline that passes validation: a, b after a, c
// after b.
func validPipeline() Pipeline {
	return Pipeline{Name: "p", Nodes: []Node{noop("a"), noop("b", "a"), noop("c", "b")}}
}

// want is an expected problem: its node and field exactly, and a substring of
// its message.
type want struct {
	node, field, msg string
}

// problemsOf returns the problems of err, which must be nil or a
// *ValidationError.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	require.NotEmpty(t, ve.Problems, "a ValidationError must list at least one problem")
	return ve.Problems
}

func assertProblems(t *testing.T, got []Problem, wants []want) {
	t.Helper()
	type key struct{ Node, Field string }
	gotKeys := make([]key, len(got))
	for i, p := range got {
		gotKeys[i] = key{p.Node, p.Field}
	}
	wantKeys := make([]key, len(wants))
	for i, w := range wants {
		wantKeys[i] = key{w.node, w.field}
	}
	require.Equal(t, wantKeys, gotKeys, "problems: %v", got)
	for i, w := range wants {
		assert.Contains(t, got[i].Message, w.msg, "problem %d: %v", i, got[i])
	}
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Pipeline)
		want   []want
	}{
		// Pipeline fields.
		{"missing name", func(p *Pipeline) { p.Name = "" }, []want{{"", "name", "is required"}}},
		{"blank name", func(p *Pipeline) { p.Name = " \t" }, []want{{"", "name", "is required"}}},
		{"empty nodes", func(p *Pipeline) { p.Nodes = nil }, []want{{"", "nodes", "pipeline has no nodes"}}},
		{"unknown mode", func(p *Pipeline) { p.Mode = "fast" }, []want{{"", "mode", `unknown mode "fast"`}}},
		{"unknown failure_policy", func(p *Pipeline) { p.FailurePolicy = "ignore" },
			[]want{{"", "failure_policy", `unknown policy "ignore"`}}},
		{"max_parallel negative", func(p *Pipeline) { p.MaxParallel = -1 },
			[]want{{"", "max_parallel", "must not be negative, got -1"}}},
		{"max_parallel above the limit", func(p *Pipeline) { p.MaxParallel = MaxParallelLimit + 1 },
			[]want{{"", "max_parallel", fmt.Sprintf("%d exceeds the limit of %d", MaxParallelLimit+1, MaxParallelLimit)}}},
		{"pipeline timeout unparsable", func(p *Pipeline) { p.Timeout = "soon" },
			[]want{{"", "timeout", `"soon" is not a duration`}}},
		{"pipeline timeout without unit", func(p *Pipeline) { p.Timeout = "30" },
			[]want{{"", "timeout", `"30" is not a duration`}}},
		{"pipeline timeout negative", func(p *Pipeline) { p.Timeout = "-1h" },
			[]want{{"", "timeout", "must not be negative, got -1h"}}},

		// Durations of a node.
		{"node timeout unparsable", func(p *Pipeline) { p.Nodes[0].Timeout = "5 minutes" },
			[]want{{"a", "timeout", `"5 minutes" is not a duration`}}},
		{"node timeout negative", func(p *Pipeline) { p.Nodes[0].Timeout = "-5m" },
			[]want{{"a", "timeout", "must not be negative"}}},
		{"heartbeat_timeout unparsable", func(p *Pipeline) { p.Nodes[1].HeartbeatTimeout = "x" },
			[]want{{"b", "heartbeat_timeout", `"x" is not a duration`}}},
		{"heartbeat_timeout negative", func(p *Pipeline) { p.Nodes[1].HeartbeatTimeout = "-1s" },
			[]want{{"b", "heartbeat_timeout", "must not be negative"}}},
		{"retry initial_interval unparsable", func(p *Pipeline) { p.Nodes[2].Retry = &Retry{InitialInterval: "1 s"} },
			[]want{{"c", "retry.initial_interval", `"1 s" is not a duration`}}},
		{"retry initial_interval negative", func(p *Pipeline) { p.Nodes[2].Retry = &Retry{InitialInterval: "-1s"} },
			[]want{{"c", "retry.initial_interval", "must not be negative"}}},
		{"retry max_interval unparsable", func(p *Pipeline) { p.Nodes[2].Retry = &Retry{MaxInterval: "1d"} },
			[]want{{"c", "retry.max_interval", `"1d" is not a duration`}}},
		{"retry max_interval negative", func(p *Pipeline) { p.Nodes[2].Retry = &Retry{MaxInterval: "-2m"} },
			[]want{{"c", "retry.max_interval", "must not be negative"}}},

		// Upper bounds of durations.
		{"pipeline timeout above 30 days", func(p *Pipeline) { p.Timeout = "999999h" },
			[]want{{"", "timeout", "999999h exceeds the limit (720h0m0s)"}}},
		{"node timeout above the default run timeout", func(p *Pipeline) { p.Nodes[0].Timeout = "3h" },
			[]want{{"a", "timeout", "3h exceeds the run's timeout (2h0m0s)"}}},
		{"node timeout above the run's timeout", func(p *Pipeline) { p.Timeout = "10m"; p.Nodes[0].Timeout = "11m" },
			[]want{{"a", "timeout", "11m exceeds the run's timeout (10m0s)"}}},
		{"node timeout 999999h", func(p *Pipeline) { p.Nodes[0].Timeout = "999999h" },
			[]want{{"a", "timeout", "999999h exceeds the run's timeout"}}},
		{"node timeout above an invalid run timeout is bounded by the limit", func(p *Pipeline) {
			p.Timeout = "soon"
			p.Nodes[0].Timeout = "999999h"
		}, []want{{"", "timeout", "not a duration"}, {"a", "timeout", "999999h exceeds the run's timeout (720h0m0s)"}}},
		{"heartbeat_timeout above the node's timeout", func(p *Pipeline) {
			p.Nodes[1].Timeout = "1m"
			p.Nodes[1].HeartbeatTimeout = "2m"
		}, []want{{"b", "heartbeat_timeout", "2m exceeds the node's timeout (1m0s)"}}},
		{"heartbeat_timeout above the run's timeout", func(p *Pipeline) {
			p.Timeout = "1m"
			p.Nodes[1].HeartbeatTimeout = "999999h"
		}, []want{{"b", "heartbeat_timeout", "999999h exceeds the node's timeout (1m0s)"}}},
		{"retry initial_interval above 24h", func(p *Pipeline) { p.Nodes[2].Retry = &Retry{InitialInterval: "999999h"} },
			[]want{{"c", "retry.initial_interval", "999999h exceeds the limit (24h0m0s)"}}},
		{"retry max_interval above 24h", func(p *Pipeline) { p.Nodes[2].Retry = &Retry{MaxInterval: "25h"} },
			[]want{{"c", "retry.max_interval", "25h exceeds the limit (24h0m0s)"}}},
		{"every bound at once", func(p *Pipeline) {
			p.Timeout = "721h"
			p.Nodes[0].Timeout = "722h"
			p.Nodes[1].HeartbeatTimeout = "723h"
			p.Nodes[2].Retry = &Retry{InitialInterval: "25h", MaxInterval: "26h"}
		}, []want{
			{"", "timeout", "721h exceeds the limit"},
			{"a", "timeout", "722h exceeds the run's timeout (720h0m0s)"},
			{"b", "heartbeat_timeout", "723h exceeds the node's timeout (720h0m0s)"},
			{"c", "retry.initial_interval", "25h exceeds the limit"},
			{"c", "retry.max_interval", "26h exceeds the limit"},
		}},
		// Template ranges over integer literals.
		{"http body ranging 10^12 times", func(p *Pipeline) {
			p.Nodes[0].Executor = NewExecutor(&HTTPSpec{URL: "https://example.com", Body: "{{range 1000000000000}}{{end}}"})
		}, []want{{"a", "executor.body", "ranges over 1000000000000 iterations, more than the limit of 1000000"}}},
		{"nested ranges multiply, in every templated field", func(p *Pipeline) {
			p.Nodes[0].Executor = NewExecutor(&HTTPSpec{URL: "https://example.com/{{range 2000}}{{range 1000}}x{{end}}{{end}}",
				Headers: map[string]string{"X-A": `{{if .Params}}{{else}}{{range 1001}}{{range 1000}}{{end}}{{end}}{{end}}`}})
			p.Nodes[1].Executor = NewExecutor(&AgentSpec{Prompt: `{{define "x"}}{{range 5000000}}{{end}}{{end}}{{template "x"}}`,
				SystemPrompt: `{{with 1}}{{range 1000000}}{{range 2}}{{end}}{{end}}{{end}}`})
		}, []want{
			{"a", "executor.headers.X-A", "ranges over 1001000 iterations"},
			{"a", "executor.url", "ranges over 2000000 iterations"},
			{"b", "executor.prompt", "ranges over 5000000 iterations"},
			{"b", "executor.system_prompt", "ranges over 2000000 iterations"},
		}},
		{"noop duration unparsable", func(p *Pipeline) { p.Nodes[0].Executor.Spec.(*NoopSpec).Duration = "long" },
			[]want{{"a", "executor.duration", `"long" is not a duration`}}},
		{"noop duration negative", func(p *Pipeline) { p.Nodes[0].Executor.Spec.(*NoopSpec).Duration = "-10ms" },
			[]want{{"a", "executor.duration", "must not be negative"}}},

		// IDs.
		{"empty id", func(p *Pipeline) { p.Nodes[2].ID = "" }, []want{{"#2", "id", "is required"}}},
		{"id with a space", func(p *Pipeline) { p.Nodes[2].ID = "bad id" },
			[]want{{"bad id", "id", "may only contain letters, digits"}}},
		{"id starting with a dash", func(p *Pipeline) { p.Nodes[2].ID = "-c" },
			[]want{{"-c", "id", "starting with a letter or digit"}}},
		{"id with a slash", func(p *Pipeline) { p.Nodes[2].ID = "a/b" }, []want{{"a/b", "id", "may only contain"}}},
		{"id with a trailing newline", func(p *Pipeline) { p.Nodes[2].ID = "c\n" }, []want{{"c\n", "id", "may only contain"}}},
		{"id not ASCII", func(p *Pipeline) { p.Nodes[2].ID = "café" }, []want{{"café", "id", "may only contain"}}},
		{"a long unknown dependency is not echoed whole", func(p *Pipeline) { p.Nodes[1].DependsOn = []string{strings.Repeat("d", 6000)} },
			[]want{{"b", "depends_on", `unknown node "` + strings.Repeat("d", maxProblemMessage-len(`unknown node "`)) + "…"}}},
		{"id too long", func(p *Pipeline) { p.Nodes[2].ID = strings.Repeat("x", MaxIDLength+1) },
			[]want{{"#2 (xxxxxxxxxxxxxxxxxxxx…)", "id", fmt.Sprintf("longer than %d characters", MaxIDLength)}}},
		{"duplicate id", func(p *Pipeline) { p.Nodes = append(p.Nodes, noop("b")) },
			[]want{{"b", "id", "duplicate id (also node #1)"}}},
		{"id duplicated twice", func(p *Pipeline) { p.Nodes = append(p.Nodes, noop("a"), noop("a")) },
			[]want{{"a", "id", "duplicate id (also node #0)"}, {"a", "id", "duplicate id (also node #0)"}}},

		// Dependencies.
		{"self-dependency", func(p *Pipeline) { p.Nodes[2].DependsOn = []string{"b", "c"} },
			[]want{{"c", "depends_on", "node depends on itself"}}},
		{"self-dependency listed twice", func(p *Pipeline) { p.Nodes[2].DependsOn = []string{"c", "c"} },
			[]want{{"c", "depends_on", "node depends on itself"}, {"c", "depends_on", `"c" is listed twice`}}},
		{"dependency listed twice", func(p *Pipeline) { p.Nodes[2].DependsOn = []string{"b", "a", "b"} },
			[]want{{"c", "depends_on", `"b" is listed twice`}}},
		{"unknown dependency", func(p *Pipeline) { p.Nodes[2].DependsOn = []string{"b", "zz"} },
			[]want{{"c", "depends_on", `unknown node "zz"`}}},
		{"empty dependency", func(p *Pipeline) { p.Nodes[2].DependsOn = []string{""} },
			[]want{{"c", "depends_on", `unknown node ""`}}},
		{"dependency problems of a node without id are labelled by position", func(p *Pipeline) {
			p.Nodes[2].ID = ""
			p.Nodes[2].DependsOn = []string{"zz"}
		}, []want{{"#2", "id", "is required"}, {"#2", "depends_on", `unknown node "zz"`}}},
		{"linear mode, dependency declared after", func(p *Pipeline) {
			p.Mode = ModeLinear
			p.Nodes = []Node{noop("a"), noop("b", "c"), noop("c", "a")}
		}, []want{{"b", "depends_on", `"c" is declared after this node; linear mode runs nodes in declared order`}}},

		// Cycles, shown in execution direction: x -> y means y depends on x.
		{"cycle of 2", func(p *Pipeline) { p.Nodes = []Node{noop("a", "b"), noop("b", "a"), noop("c", "b")} },
			[]want{{"b", "depends_on", "cycle: b -> a -> b"}}},
		{"cycle of 3 declared against execution order", func(p *Pipeline) {
			p.Nodes = []Node{noop("c", "b"), noop("b", "a"), noop("a", "c")}
		}, []want{{"a", "depends_on", "cycle: a -> b -> c -> a"}}},
		{"cycle of 3 declared in execution order", func(p *Pipeline) {
			p.Nodes = []Node{noop("a", "c"), noop("b", "a"), noop("c", "b")}
		}, []want{{"b", "depends_on", "cycle: b -> c -> a -> b"}}},
		{"cycle below an acyclic node lists only the cycle", func(p *Pipeline) {
			p.Nodes = []Node{noop("a"), noop("b", "a", "c"), noop("c", "b"), noop("d", "c")}
		}, []want{{"c", "depends_on", "cycle: c -> b -> c"}}},
		{"two disjoint cycles", func(p *Pipeline) {
			p.Nodes = []Node{noop("a", "b"), noop("b", "a"), noop("c", "d"), noop("d", "c"), noop("e")}
		}, []want{{"b", "depends_on", "cycle: b -> a -> b"}, {"d", "depends_on", "cycle: d -> c -> d"}}},
		{"cycle reachable from several entry points", func(p *Pipeline) {
			p.Nodes = []Node{noop("e1", "a"), noop("e2", "b"), noop("a", "b"), noop("b", "a"), noop("e3", "a", "b")}
		}, []want{{"b", "depends_on", "cycle: b -> a -> b"}}},
		{"cycle through a dependency listed twice", func(p *Pipeline) {
			p.Nodes = []Node{noop("a", "b", "b"), noop("b", "a")}
		}, []want{{"a", "depends_on", `"b" is listed twice`}, {"b", "depends_on", "cycle: b -> a -> b"}}},
		{"cycle with a self-dependency", func(p *Pipeline) { p.Nodes = []Node{noop("a", "a", "b"), noop("b", "a")} },
			[]want{{"a", "depends_on", "depends on itself"}, {"b", "depends_on", "cycle: b -> a -> b"}}},

		// Executors.
		{"missing executor kind", func(p *Pipeline) { p.Nodes[0].Executor = Executor{} },
			[]want{{"a", "executor.kind", "is required (one of noop, command, http, agent, approval)"}}},
		{"agent with an unknown provider", func(p *Pipeline) { p.Nodes[0].Executor = NewExecutor(&AgentSpec{Provider: "gemini"}) },
			[]want{{"a", "executor.provider", `unknown provider "gemini"`}}},
		{"agent command without argv", func(p *Pipeline) { p.Nodes[0].Executor = NewExecutor(&AgentSpec{Provider: ProviderCommand}) },
			[]want{{"a", "executor.argv", "must name the agent program"}}},
		{"agent api provider with argv", func(p *Pipeline) {
			p.Nodes[0].Executor = NewExecutor(&AgentSpec{Provider: ProviderOpenAI, Process: Process{Argv: []string{"x"}}})
		}, []want{{"a", "executor.argv", `does not apply to executor kind "agent"`}}},
		{"agent with bad settings", func(p *Pipeline) {
			hot := 3.0
			p.Nodes[0].Executor = NewExecutor(&AgentSpec{BaseURL: "localhost:11434", MaxTokens: -1, Temperature: &hot,
				APIKeyEnv: "A=B", Prompt: "{{.Requirement", SystemPrompt: "{{nosuchfunc .X}}"})
		}, []want{
			{"a", "executor.base_url", `"localhost:11434" is not an absolute http or https URL`},
			{"a", "executor.max_tokens", "must not be negative"},
			{"a", "executor.temperature", "must be between 0 and 2, got 3"},
			{"a", "executor.api_key_env", `invalid variable name "A=B"`},
			{"a", "executor.prompt", "invalid template"},
			{"a", "executor.system_prompt", "invalid template"},
		}},
		{"approval with an unknown timeout action", func(p *Pipeline) {
			p.Nodes[0].Executor = executor(`{"kind": "approval", "on_timeout": "escalate", "argv": ["x"]}`)
		}, []want{{"a", "executor.on_timeout", `unknown action "escalate"`}, {"a", "executor.argv", `does not apply to executor kind "approval"`}}},
		{"unknown executor kind", func(p *Pipeline) { p.Nodes[0].Executor = executor(`{"kind": "lambda", "url": "x"}`) },
			[]want{{"a", "executor.kind", `unknown executor kind "lambda"`}}},
		{"command without argv", func(p *Pipeline) { p.Nodes[0].Executor = NewExecutor(&CommandSpec{}) },
			[]want{{"a", "executor.argv", "must name a program"}}},
		{"command with a blank program", func(p *Pipeline) {
			p.Nodes[0].Executor = NewExecutor(&CommandSpec{Process: Process{Argv: []string{" ", "x"}}})
		},
			[]want{{"a", "executor.argv", "must name a program"}}},
		{"command env with an invalid name", func(p *Pipeline) {
			p.Nodes[0].Executor = NewExecutor(&CommandSpec{Process: Process{Argv: []string{"true"}, Env: map[string]string{"B=C": "x", "": "y", "OK": "z"}}})
		}, []want{{"a", "executor.env", `invalid variable name ""`}, {"a", "executor.env", `invalid variable name "B=C"`}}},
		{"command pass_env with an invalid name", func(p *Pipeline) {
			p.Nodes[0].Executor = NewExecutor(&CommandSpec{Process: Process{Argv: []string{"true"}, PassEnv: []string{"TOKEN", "A\x00B"}}})
		}, []want{{"a", "executor.pass_env", `invalid variable name "A\x00B"`}}},
		{"http without url", func(p *Pipeline) { p.Nodes[0].Executor = NewExecutor(&HTTPSpec{}) },
			[]want{{"a", "executor.url", "is required"}}},
		{"http with a relative url", func(p *Pipeline) { p.Nodes[0].Executor = NewExecutor(&HTTPSpec{URL: "/hooks/deploy"}) },
			[]want{{"a", "executor.url", `"/hooks/deploy" is not an absolute http or https URL`}}},
		{"http with an ftp url", func(p *Pipeline) { p.Nodes[0].Executor = NewExecutor(&HTTPSpec{URL: "ftp://example.com/x"}) },
			[]want{{"a", "executor.url", "is not an absolute http or https URL"}}},
		{"http url without host", func(p *Pipeline) { p.Nodes[0].Executor = NewExecutor(&HTTPSpec{URL: "http://"}) },
			[]want{{"a", "executor.url", "is not an absolute http or https URL"}}},
		{"http templates that do not parse", func(p *Pipeline) {
			p.Nodes[0].Executor = NewExecutor(&HTTPSpec{URL: "{{.Bad", Body: `{"a": {{json .Params.x}}}`, Headers: map[string]string{"X": "{{end}}"}})
		}, []want{
			{"a", "executor.headers.X", "invalid template"},
			{"a", "executor.url", "invalid template"},
		}},
		{"http url that does not parse", func(p *Pipeline) { p.Nodes[0].Executor = NewExecutor(&HTTPSpec{URL: "http://[::1"}) },
			[]want{{"a", "executor.url", "is not an absolute http or https URL"}}},
		{"http with an unknown method", func(p *Pipeline) {
			p.Nodes[0].Executor = NewExecutor(&HTTPSpec{URL: "https://example.com", Method: "FETCH"})
		}, []want{{"a", "executor.method", `unknown HTTP method "FETCH"`}}},
		{"url on command", func(p *Pipeline) {
			p.Nodes[0].Executor = executor(`{"kind": "command", "argv": ["true"], "url": "https://example.com"}`)
		}, []want{{"a", "executor.url", `does not apply to executor kind "command"`}}},
		{"argv and dir on noop", func(p *Pipeline) { p.Nodes[0].Executor = executor(`{"kind": "noop", "argv": ["x"], "dir": "/tmp"}`) },
			[]want{{"a", "executor.argv", `does not apply to executor kind "noop"`}, {"a", "executor.dir", `does not apply to executor kind "noop"`}}},
		{"noop fields on http", func(p *Pipeline) {
			p.Nodes[0].Executor = executor(`{"kind": "http", "url": "https://example.com", "duration": "1s", "fail_attempts": 1, "output": "x"}`)
		}, []want{
			{"a", "executor.duration", `does not apply to executor kind "http"`},
			{"a", "executor.fail_attempts", `does not apply to executor kind "http"`},
			{"a", "executor.output", `does not apply to executor kind "http"`},
		}},
		{"http fields on noop", func(p *Pipeline) {
			p.Nodes[0].Executor = executor(`{"kind": "noop", "method": "GET", "headers": {"A": "b"}, "body": "x"}`)
		}, []want{
			{"a", "executor.body", `does not apply to executor kind "noop"`},
			{"a", "executor.headers", `does not apply to executor kind "noop"`},
			{"a", "executor.method", `does not apply to executor kind "noop"`},
		}},
		{"command fields on http", func(p *Pipeline) {
			p.Nodes[0].Executor = executor(`{"kind": "http", "url": "https://example.com", "env": {"A": "b"}, "pass_env": ["T"]}`)
		}, []want{
			{"a", "executor.env", `does not apply to executor kind "http"`},
			{"a", "executor.pass_env", `does not apply to executor kind "http"`},
		}},
		{"noop fail_attempts negative", func(p *Pipeline) { p.Nodes[0].Executor.Spec.(*NoopSpec).FailAttempts = -1 },
			[]want{{"a", "executor.fail_attempts", "must not be negative, got -1"}}},

		// Retry.
		{"retry max_attempts negative", func(p *Pipeline) { p.Nodes[1].Retry = &Retry{MaxAttempts: -1} },
			[]want{{"b", "retry.max_attempts", "must not be negative, got -1"}}},
		{"retry max_attempts over the limit", func(p *Pipeline) { p.Nodes[1].Retry = &Retry{MaxAttempts: 2147483647} },
			[]want{{"b", "retry.max_attempts", "2147483647 exceeds the limit of 1000"}}},
		{"timeouts under the minimum", func(p *Pipeline) {
			p.Timeout = "1ns"
			p.Nodes[1].Timeout, p.Nodes[1].HeartbeatTimeout = "99ms", "1us"
		}, []want{
			{"", "timeout", "1ns is shorter than the minimum of 100ms"},
			{"b", "timeout", "99ms is shorter than the minimum of 100ms"},
			{"b", "heartbeat_timeout", "1us is shorter than the minimum of 100ms"},
		}},
		{"budget over the limits", func(p *Pipeline) { p.Budget = &Budget{USD: 1e308, Tokens: 9223372036854775807} }, []want{
			{"", "budget.usd", "1e+308 exceeds the limit of 1e+06"},
			{"", "budget.tokens", "9223372036854775807 exceeds the limit of 1000000000000"},
		}},
		{"params too big", func(p *Pipeline) { p.Params = map[string]any{"requirement": strings.Repeat("r", MaxParamsBytes)} },
			[]want{{"", "params", "65554 bytes as JSON exceed the limit of 65536"}}},
		{"name too long", func(p *Pipeline) { p.Name = strings.Repeat("n", 201) },
			[]want{{"", "name", "longer than 200 bytes (201)"}}},
		{"retry backoff below 1", func(p *Pipeline) { p.Nodes[1].Retry = &Retry{Backoff: 0.5} },
			[]want{{"b", "retry.backoff", "must be at least 1, got 0.5"}}},
		{"retry backoff negative", func(p *Pipeline) { p.Nodes[1].Retry = &Retry{Backoff: -2} },
			[]want{{"b", "retry.backoff", "must be at least 1, got -2"}}},
		{"retry backoff NaN", func(p *Pipeline) { p.Nodes[1].Retry = &Retry{Backoff: math.NaN()} },
			[]want{{"b", "retry.backoff", "must be at least 1, got NaN"}}},
		{"retry non_retryable blank", func(p *Pipeline) { p.Nodes[1].Retry = &Retry{NonRetryable: []string{"CommandExit", " "}} },
			[]want{{"b", "retry.non_retryable", "error type must not be empty"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPipeline()
			tt.mutate(&p)
			assertProblems(t, problemsOf(t, p.ValidateStart()), tt.want)
		})
	}
}

// TestValidateLeavesBoundsToStart: the workflow's Validate does not apply
// the upper bounds of durations (a run started before they existed must
// replay), ValidateStart reports each of them.
func TestValidateLeavesBoundsToStart(t *testing.T) {
	p := validPipeline()
	p.Timeout = "999999h"
	p.Nodes[0].Timeout = "999999h"
	p.Nodes[1].HeartbeatTimeout = "999999h"
	p.Nodes[2].Retry = &Retry{InitialInterval: "999999h", MaxInterval: "999999h"}
	p.Nodes = append(p.Nodes, Node{ID: "d", Executor: NewExecutor(&HTTPSpec{URL: "https://example.com", Body: "{{range 1000000000000}}{{end}}"})})
	require.NoError(t, p.Validate())
	assertProblems(t, problemsOf(t, p.ValidateStart()), []want{
		{"", "timeout", "999999h exceeds the limit"},
		{"a", "timeout", "999999h exceeds the run's timeout"},
		{"b", "heartbeat_timeout", "999999h exceeds the node's timeout"},
		{"c", "retry.initial_interval", "999999h exceeds the limit"},
		{"c", "retry.max_interval", "999999h exceeds the limit"},
		{"d", "executor.body", "ranges over 1000000000000 iterations"},
	})
}

func TestValidateValid(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Pipeline)
	}{
		{"minimal", func(p *Pipeline) {}},
		{"single node", func(p *Pipeline) { p.Nodes = []Node{noop("only")} }},
		{"linear", func(p *Pipeline) { p.Mode = ModeLinear }},
		{"dag_linear with a dependency declared later", func(p *Pipeline) {
			p.Mode = ModeDAGLinear
			p.Nodes = []Node{noop("b", "a"), noop("a")}
		}},
		{"dag_parallel with a dependency declared later", func(p *Pipeline) {
			p.Mode = ModeDAGParallel
			p.Nodes = []Node{noop("b", "a"), noop("a")}
		}},
		{"no mode with a dependency declared later", func(p *Pipeline) { p.Nodes = []Node{noop("b", "a"), noop("a")} }},
		{"all pipeline fields", func(p *Pipeline) {
			p.Description = "d"
			p.MaxParallel = MaxParallelLimit
			p.Timeout = "1h30m"
			p.FailurePolicy = Continue
			p.Params = map[string]any{"requirement": "x"}
		}},
		{"fail_fast policy", func(p *Pipeline) { p.FailurePolicy = FailFast }},
		{"template ranges at the limit", func(p *Pipeline) {
			p.Nodes[0].Executor = NewExecutor(&HTTPSpec{URL: "https://example.com", Body: "{{range 1000}}{{range 1000}}x{{end}}{{end}}{{range .Params}}{{end}}{{range 3}}{{end}}"})
			p.Nodes[1].Executor = NewExecutor(&AgentSpec{Prompt: "{{range 1000000}}{{end}}"})
		}},
		{"durations at their bounds", func(p *Pipeline) {
			p.Timeout = "720h"
			p.Nodes[0].Timeout = "720h"
			p.Nodes[0].HeartbeatTimeout = "720h"
			p.Nodes[1].HeartbeatTimeout = "2h" // the default run timeout
			p.Nodes[2].Retry = &Retry{InitialInterval: "24h", MaxInterval: "24h"}
		}},
		{"zero durations", func(p *Pipeline) {
			p.Timeout = "0s"
			p.Nodes[0].Timeout = "0"
			p.Nodes[0].Executor.Spec.(*NoopSpec).Duration = "0ms"
		}},
		{"id of maximum length and punctuation", func(p *Pipeline) {
			p.Nodes = []Node{noop(strings.Repeat("x", MaxIDLength)), noop("9.b_c-d", strings.Repeat("x", MaxIDLength))}
		}},
		{"every executor kind", func(p *Pipeline) {
			p.Nodes = []Node{
				{ID: "n", Executor: NewExecutor(&NoopSpec{Duration: "10ms", FailAttempts: 2, Output: "out"})},
				{ID: "c", Executor: NewExecutor(&CommandSpec{Process: Process{Argv: []string{"go", "test"}, Env: map[string]string{"A": "1"},
					PassEnv: []string{"TOKEN"}, Dir: "/tmp"}})},
				{ID: "h", Executor: NewExecutor(&HTTPSpec{Method: "post", URL: "https://example.com/hook?x=1",
					Headers: map[string]string{"Authorization": `{{env "TOKEN"}}`}, Body: "{}"})},
				{ID: "t", Executor: NewExecutor(&HTTPSpec{URL: "{{.Params.base}}/deploy"})},
				{ID: "ag", Executor: Executor{Kind: KindAgent}}, // no spec: the defaults
				{ID: "ag2", Executor: NewExecutor(&AgentSpec{SimulatedOutput: "done (simulated)"})},
				{ID: "an", Executor: NewExecutor(&AgentSpec{Provider: ProviderAnthropic, Model: "claude-x", BaseURL: "https://api.example.com",
					MaxTokens: 1000, Temperature: new(0.2), APIKeyEnv: "KEY", SystemPrompt: "You are QA.",
					Prompt: "{{.Requirement}} {{json .Params}} {{trim (index .Inputs \"design\")}}"})},
				{ID: "ac", Executor: NewExecutor(&AgentSpec{Provider: ProviderCommand, Process: Process{Argv: []string{"agent", "-p"},
					Env: map[string]string{"A": "1"}, PassEnv: []string{"TOKEN"}, Dir: "/tmp"}})},
				{ID: "ap", Executor: NewExecutor(&ApprovalSpec{})},
				{ID: "ap2", Executor: NewExecutor(&ApprovalSpec{OnTimeout: OnTimeoutApprove})},
			}
		}},
		{"every HTTP method", func(p *Pipeline) {
			p.Nodes = nil
			for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get"} {
				p.Nodes = append(p.Nodes, Node{ID: "n" + m, Executor: NewExecutor(&HTTPSpec{Method: m, URL: "http://localhost:8080"})})
			}
		}},
		{"full retry", func(p *Pipeline) {
			p.Nodes[0].Retry = &Retry{MaxAttempts: 5, InitialInterval: "100ms", Backoff: 1, MaxInterval: "1m", NonRetryable: []string{"X"}}
			p.Nodes[1].Retry = &Retry{}
			p.Nodes[2].Timeout = "5m"
			p.Nodes[2].HeartbeatTimeout = "10s"
		}},
		{"the limit of nodes", func(p *Pipeline) {
			p.Nodes = make([]Node, MaxNodes)
			for i := range p.Nodes {
				p.Nodes[i] = noop(fmt.Sprint("n", i))
				if i > 0 {
					p.Nodes[i].DependsOn = []string{fmt.Sprint("n", i-1)}
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPipeline()
			tt.mutate(&p)
			require.NoError(t, p.Validate())
			require.NoError(t, p.ValidateStart())
		})
	}
}

// A pipeline with many different problems reports all of them at once.
func TestValidateReportsEveryProblem(t *testing.T) {
	p := Pipeline{
		Name:          "",
		Mode:          "sideways",
		MaxParallel:   -3,
		Timeout:       "forever",
		FailurePolicy: "shrug",
		Nodes: []Node{
			{ID: "a", Executor: NewExecutor(&NoopSpec{Duration: "-1s"}), Timeout: "x"},
			{ID: "a", Executor: NewExecutor(&CommandSpec{})},
			{ID: "", DependsOn: []string{"a"}, Executor: NewExecutor(&HTTPSpec{URL: "relative"})},
			{ID: "b c", DependsOn: []string{"ghost"}, Executor: Executor{Kind: "ssh"}},
			{ID: "d", DependsOn: []string{"e"}, Retry: &Retry{MaxAttempts: -1, Backoff: 0.1}, Executor: executor(`{"kind": "noop", "url": "https://x"}`)},
			{ID: "e", DependsOn: []string{"d"}, Executor: NewExecutor(&NoopSpec{})},
		},
	}
	err := p.Validate()
	require.Error(t, err)
	wants := []want{
		{"", "name", "is required"},
		{"", "mode", `unknown mode "sideways"`},
		{"", "failure_policy", `unknown policy "shrug"`},
		{"", "max_parallel", "must not be negative"},
		{"", "timeout", `"forever" is not a duration`},
		{"a", "timeout", `"x" is not a duration`},
		{"a", "executor.duration", "must not be negative"},
		{"a", "id", "duplicate id (also node #0)"},
		{"a", "executor.argv", "must name a program"},
		{"#2", "id", "is required"},
		{"#2", "executor.url", `"relative" is not an absolute`},
		{"b c", "id", "may only contain"},
		{"b c", "executor.kind", `unknown executor kind "ssh"`},
		{"d", "retry.max_attempts", "must not be negative"},
		{"d", "retry.backoff", "must be at least 1"},
		{"d", "executor.url", `does not apply to executor kind "noop"`},
		{"b c", "depends_on", `unknown node "ghost"`},
		{"e", "depends_on", "cycle: e -> d -> e"},
	}
	problems := problemsOf(t, err)
	require.Len(t, problems, 18)
	assertProblems(t, problems, wants)

	var ve *ValidationError
	require.True(t, errors.As(err, &ve))
	msg := err.Error()
	assert.True(t, strings.HasPrefix(msg, "invalid pipeline (18 problems): "), msg)
	for _, pr := range ve.Problems {
		assert.Contains(t, msg, pr.String())
	}
	assert.Equal(t, len(ve.Problems)-1, strings.Count(msg, "; "), "problems are joined by '; '")
}

// A pipeline over the node limit reports the limit and nothing about each of
// its nodes.
func TestValidateTooManyNodes(t *testing.T) {
	p := Pipeline{Name: "", Nodes: make([]Node, MaxNodes+1)}
	problems := problemsOf(t, p.Validate())
	assertProblems(t, problems, []want{
		{"", "name", "is required"},
		{"", "nodes", fmt.Sprintf("%d nodes exceed the limit of %d", MaxNodes+1, MaxNodes)},
	})
}

// Validate lists a bounded number of cycles even when the graph holds many.
func TestValidateManyCycles(t *testing.T) {
	const n = 30
	p := Pipeline{Name: "p"}
	for i := range n {
		node := noop(fmt.Sprint("n", i))
		if i < n-1 {
			node.DependsOn = []string{fmt.Sprint("n", i+1)}
		} else {
			for j := range n - 1 {
				node.DependsOn = append(node.DependsOn, fmt.Sprint("n", j))
			}
		}
		p.Nodes = append(p.Nodes, node)
	}
	problems := problemsOf(t, p.Validate())
	require.Len(t, problems, maxReportedCycles+1)
	for _, pr := range problems[:maxReportedCycles] {
		assert.Equal(t, "n29", pr.Node)
		assert.Equal(t, "depends_on", pr.Field)
		assert.True(t, strings.HasPrefix(pr.Message, "cycle: n29 -> "), pr.Message)
	}
	// n29 depends on n0: its first cycle runs through every node.
	assert.Equal(t, 31, strings.Count(problems[0].Message, "n"))
	last := problems[maxReportedCycles]
	assert.Equal(t, Problem{Field: "depends_on", Message: fmt.Sprintf("%d more dependency cycles not listed", n-1-maxReportedCycles)}, last)
}

func TestValidationErrorFormat(t *testing.T) {
	one := &ValidationError{Problems: []Problem{{Field: "name", Message: "is required"}}}
	assert.Equal(t, "invalid pipeline (1 problem): name: is required", one.Error())

	two := &ValidationError{Problems: []Problem{
		{Field: "name", Message: "is required"},
		{Node: "a", Field: "id", Message: "bad"},
	}}
	assert.Equal(t, `invalid pipeline (2 problems): name: is required; node "a": id: bad`, two.Error())

	var err error = fmt.Errorf("start: %w", two)
	var ve *ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Same(t, two, ve)
}

func TestValidateIsDeterministic(t *testing.T) {
	p := Pipeline{Name: "p", Nodes: []Node{
		{ID: "a", Executor: executor(`{"kind": "command", "argv": ["x"], "env": {"=1": "", "=2": "", "=3": ""},
			"url": "u", "method": "m", "body": "b", "output": "o"}`)},
		noop("b", "c"), noop("c", "b"), noop("d", "e"), noop("e", "d"),
	}}
	first := p.Validate()
	for range 20 {
		require.Equal(t, first, p.Validate())
	}
}
