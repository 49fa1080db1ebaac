package dag

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKindsComeFromTheRegistry(t *testing.T) {
	assert.Equal(t, []string{KindNoop, KindCommand, KindHTTP, KindAgent, KindApproval}, Kinds)
	for _, k := range Kinds {
		spec := Executor{Kind: k}.Resolve()
		require.NotNil(t, spec, k)
		assert.Equal(t, k, spec.Kind())
	}
	assert.Nil(t, Executor{Kind: "lambda"}.Resolve())
	assert.Nil(t, Executor{}.Resolve())
}

func TestExecutorGate(t *testing.T) {
	for _, k := range Kinds {
		assert.Equal(t, k == KindApproval, Executor{Kind: k}.Gate(), k)
	}
	assert.True(t, NewExecutor(&ApprovalSpec{OnTimeout: OnTimeoutApprove}).Gate())
	assert.False(t, Executor{Kind: "lambda"}.Gate())
}

func TestSpecOf(t *testing.T) {
	c, ok := SpecOf[*CommandSpec](NewExecutor(&CommandSpec{Process: Process{Argv: []string{"true"}}}))
	require.True(t, ok)
	assert.Equal(t, []string{"true"}, c.Argv)

	// No spec: the kind's defaults.
	n, ok := SpecOf[*NoopSpec](Executor{Kind: KindNoop})
	require.True(t, ok)
	assert.Equal(t, &NoopSpec{}, n)

	_, ok = SpecOf[*HTTPSpec](Executor{Kind: KindNoop})
	assert.False(t, ok)
	_, ok = SpecOf[*HTTPSpec](Executor{Kind: "lambda"})
	assert.False(t, ok)
}

// The flat JSON of every kind decodes into the kind's spec and encodes back
// to the same object: pipelines in recorded histories stay readable.
func TestExecutorJSONRoundTrip(t *testing.T) {
	hot := 0.5
	tests := []struct {
		name string
		json string
		want Executor
	}{
		{"noop", `{"kind":"noop","duration":"1s","fail_attempts":2,"output":"x"}`,
			NewExecutor(&NoopSpec{Duration: "1s", FailAttempts: 2, Output: "x"})},
		{"noop without fields", `{"kind":"noop"}`, NewExecutor(&NoopSpec{})},
		{"command", `{"kind":"command","argv":["go","test"],"env":{"A":"1"},"pass_env":["T"],"dir":"/src"}`,
			NewExecutor(&CommandSpec{Process: Process{Argv: []string{"go", "test"}, Env: map[string]string{"A": "1"}, PassEnv: []string{"T"}, Dir: "/src"}})},
		{"http", `{"kind":"http","method":"POST","url":"https://x/y","headers":{"A":"b"},"body":"{}"}`,
			NewExecutor(&HTTPSpec{Method: "POST", URL: "https://x/y", Headers: map[string]string{"A": "b"}, Body: "{}"})},
		{"agent", `{"kind":"agent","provider":"openai","model":"m","base_url":"http://h","max_tokens":9,"temperature":0.5,"api_key_env":"K","system_prompt":"s","prompt":"p","simulated_output":"o"}`,
			NewExecutor(&AgentSpec{Provider: ProviderOpenAI, Model: "m", BaseURL: "http://h", MaxTokens: 9, Temperature: &hot,
				APIKeyEnv: "K", SystemPrompt: "s", Prompt: "p", SimulatedOutput: "o"})},
		{"agent command", `{"kind":"agent","provider":"command","argv":["claude","-p"],"dir":"w"}`,
			NewExecutor(&AgentSpec{Provider: ProviderCommand, Process: Process{Argv: []string{"claude", "-p"}, Dir: "w"}})},
		{"approval", `{"kind":"approval","on_timeout":"approve"}`, NewExecutor(&ApprovalSpec{OnTimeout: OnTimeoutApprove})},
		{"fields of other kinds", `{"kind":"noop","output":"x","argv":["a"],"url":"u"}`,
			Executor{Kind: KindNoop, Spec: &NoopSpec{Output: "x"},
				Foreign: map[string]json.RawMessage{"argv": json.RawMessage(`["a"]`), "url": json.RawMessage(`"u"`)}}},
		{"unknown kind", `{"kind":"lambda","url":"u"}`, Executor{Kind: "lambda", Foreign: map[string]json.RawMessage{"url": json.RawMessage(`"u"`)}}},
		{"no kind", `{"kind":""}`, Executor{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Executor
			require.NoError(t, json.Unmarshal([]byte(tt.json), &got))
			assert.Equal(t, tt.want, got)
			out, err := json.Marshal(got)
			require.NoError(t, err)
			assert.JSONEq(t, tt.json, string(out))
		})
	}
}

func TestExecutorJSONDropsEmptyFieldsOfOtherKinds(t *testing.T) {
	var e Executor
	require.NoError(t, json.Unmarshal([]byte(`{"kind": "noop", "argv": [], "url": "", "temperature": null}`), &e))
	assert.Equal(t, NewExecutor(&NoopSpec{}), e)
	p := Pipeline{Name: "p", Nodes: []Node{{ID: "a", Executor: e}}}
	assert.NoError(t, p.Validate())
}

func TestExecutorParseErrors(t *testing.T) {
	tests := []struct {
		name, doc, msg string
	}{
		{"wrong type of an own field", `{"name": "x", "nodes": [{"id": "a", "executor": {"kind": "command", "argv": "ls"}}]}`,
			"nodes.executor.argv: expected a list, got string"},
		{"wrong type of another kind's field", "name: x\nnodes:\n  - id: a\n    executor: {kind: noop, max_tokens: many}\n",
			"nodes.executor.max_tokens: expected an integer, got string"},
		{"wrong type under an unknown kind", "name: x\nnodes:\n  - id: a\n    executor: {kind: lambda, env: [x]}\n",
			"nodes.executor.env: expected an object, got array"},
		{"unknown field under an unknown kind", "name: x\nnodes:\n  - id: a\n    executor: {kind: lambda, handler: x}\n",
			`unknown field "handler"`},
		{"unknown field without a kind", "name: x\nnodes:\n  - id: a\n    executor: {cmd: x}\n", `unknown field "cmd"`},
		{"scalar executor", "name: x\nnodes:\n  - id: a\n    executor: noop\n", "nodes.executor: expected an object, got string"},
		{"position of a type error in an executor", "{\"name\": \"x\", \"nodes\": [\n  {\"id\": \"a\", \"executor\": {\"kind\": \"noop\"}},\n  {\"id\": \"b\", \"executor\": {\"kind\": \"noop\", \"fail_attempts\": \"2\"}}]}",
			"nodes.executor.fail_attempts: expected an integer, got string (line 3, column 63)"},
		{"the first error in the document wins", `{"name": "x", "timeout": 5, "nodes": [{"id": "a", "executor": {"kind": "noop", "argv": 1}}]}`,
			`timeout: expected a duration string (e.g. "30s"), got number (line 1, column 26)`},
		{"an unknown field before an executor error", `{"name": "x", "nodes": [{"id": "a", "depend_on": [], "executor": {"kind": 1}}]}`,
			`unknown field "depend_on"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			require.ErrorIs(t, err, ErrSyntax)
			assert.ErrorContains(t, err, tt.msg)
		})
	}
}

func TestExecutorKindMismatch(t *testing.T) {
	p := Pipeline{Name: "p", Nodes: []Node{{ID: "a", Executor: Executor{Kind: KindNoop, Spec: &HTTPSpec{URL: "https://x"}}}}}
	assertProblems(t, problemsOf(t, p.Validate()), []want{{"a", "executor.kind", `the executor's settings are of kind "http"`}})
}
