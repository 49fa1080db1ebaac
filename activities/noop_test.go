package activities

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

func TestNoop(t *testing.T) {
	tests := []struct {
		name      string
		exec      dag.Executor
		want      string
		minTime   time.Duration
		truncated bool
	}{
		{name: "default output", exec: dag.NewExecutor(&dag.NoopSpec{}), want: "design done"},
		{name: "custom output", exec: dag.NewExecutor(&dag.NoopSpec{Output: "spec v2"}), want: "spec v2"},
		{name: "duration", exec: dag.NewExecutor(&dag.NoopSpec{Duration: "300ms"}), want: "design done", minTime: 300 * time.Millisecond},
		{name: "fail_attempts 0", exec: dag.NewExecutor(&dag.NoopSpec{FailAttempts: 0}), want: "design done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			start := time.Now()
			res := h.mustRun(dag.Node{ID: "design", Executor: tt.exec})
			assert.GreaterOrEqual(t, time.Since(start), tt.minTime)
			assert.Equal(t, tt.want, res.Output)
			assert.Equal(t, len(tt.want), res.OutputBytes)
			assert.False(t, res.Truncated)
			assert.Nil(t, res.ExitCode)
			assert.Zero(t, res.HTTPStatus)
			if tt.minTime > 0 {
				assert.Positive(t, h.heartbeats.Load(), "heartbeats while waiting")
			}
		})
	}
}

func TestNoopOutputCapped(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.MaxOutputBytes = 100 }))
	out := strings.Repeat("ö", 300)
	res := h.mustRun(dag.Node{ID: "n", Executor: dag.NewExecutor(&dag.NoopSpec{Output: out})})
	assert.True(t, res.Truncated)
	assert.Equal(t, 600, res.OutputBytes)
	assert.LessOrEqual(t, len(res.Output), 100)
	assert.Contains(t, res.Output, "of 600 bytes shown]")
}

func TestNoopFailAttempts(t *testing.T) {
	h := newHarness(t)
	node := dag.Node{ID: "flaky", Executor: dag.NewExecutor(&dag.NoopSpec{FailAttempts: 2})}
	_, err := h.run(node)
	appErr, f := appError(t, err, ErrTypeInjected, true)
	assert.Equal(t, "injected failure on attempt 1 of 2", appErr.Message())
	assert.Nil(t, f.ExitCode)

	// The test environment always runs attempt 1; later attempts are
	// checked on the executor itself (no duration means no activity
	// context is needed).
	a := New(Config{})
	for attempt, wantErr := range map[int32]bool{2: true, 3: false, 4: false} {
		res, err := a.runNoop(context.Background(), run.NodeInput{Node: node}, attempt)
		if wantErr {
			require.Error(t, err, "attempt %d", attempt)
			assert.Equal(t, "injected failure on attempt 2 of 2", err.Error())
			continue
		}
		require.NoError(t, err, "attempt %d", attempt)
		assert.Equal(t, "flaky done", res.Output)
	}
}

func TestNoopCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h := newHarness(t, withBackground(ctx))
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := h.run(dag.Node{ID: "slow", Executor: dag.NewExecutor(&dag.NoopSpec{Duration: "1m"})})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "canceled")
	assert.Less(t, time.Since(start), 20*time.Second, "stops at once (the node would sleep a minute)")
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		exec dag.Executor
		want string
	}{
		{name: "unknown kind", exec: dag.Executor{Kind: "ftp"}, want: `unknown executor kind "ftp"`},
		{name: "bad duration", exec: dag.NewExecutor(&dag.NoopSpec{Duration: "soon"}), want: "executor.duration"},
		{name: "empty argv", exec: dag.NewExecutor(&dag.CommandSpec{}), want: "executor.argv"},
		{name: "bad url template", exec: dag.NewExecutor(&dag.HTTPSpec{URL: "http://x/{{.Nope"}), want: "executor.url: invalid template"},
		{name: "missing param", exec: dag.NewExecutor(&dag.HTTPSpec{URL: "http://x/{{.Params.nope}}"}), want: "executor.url"},
		{name: "relative url", exec: dag.NewExecutor(&dag.HTTPSpec{URL: "{{.Node}}/x"}), want: "not an absolute http or https URL"},
		{name: "unset env", exec: dag.NewExecutor(&dag.HTTPSpec{URL: "http://127.0.0.1:1/",
			Headers: map[string]string{"Authorization": `Bearer {{env "MAESTRO_TEST_UNSET_TOKEN"}}`}}), want: "executor.headers.Authorization"},
		{name: "bad body template", exec: dag.NewExecutor(&dag.HTTPSpec{URL: "http://127.0.0.1:1/", Body: "{{if}}"}), want: "executor.body"},
		{name: "approval", exec: dag.NewExecutor(&dag.ApprovalSpec{}), want: `executor kind "approval" runs no activity`},
		{name: "header with newline", exec: dag.NewExecutor(&dag.HTTPSpec{URL: "http://127.0.0.1:1/",
			Headers: map[string]string{"X-A": "{{.Node}}\r\nX-B: 1"}}), want: "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			_, err := h.run(dag.Node{ID: "n", Executor: tt.exec})
			appErr, _ := appError(t, err, ErrTypeConfig, false)
			assert.Contains(t, appErr.Message(), tt.want)
		})
	}
}

func TestLogs(t *testing.T) {
	h := newHarness(t)
	h.mustRun(dag.Node{ID: "design", Executor: dag.NewExecutor(&dag.NoopSpec{Output: "the-output"})})
	_, err := h.run(dag.Node{ID: "flaky", Executor: dag.NewExecutor(&dag.NoopSpec{FailAttempts: 1})})
	require.Error(t, err)
	logs := h.logs.String()
	for _, want := range []string{
		`msg="node started" workflow_id=wf-1 node=design kind=noop attempt=1`,
		`msg="node completed" workflow_id=wf-1 node=design kind=noop attempt=1`,
		`msg="node failed" workflow_id=wf-1 node=flaky kind=noop attempt=1`,
		`error_type=InjectedFailure retryable=true`,
	} {
		assert.Contains(t, logs, want)
	}
	assert.NotContains(t, logs, "the-output", "outputs are not logged")
}

// Every kind of the pipeline model runs as an activity, except the kinds
// the workflow decides itself.
func TestEveryKindHasAnExecutor(t *testing.T) {
	for _, k := range dag.Kinds {
		_, ok := executors[k]
		assert.NotEqual(t, ok, dag.Executor{Kind: k}.Gate(), "kind %s", k)
	}
}

// A node input recorded by an earlier version (flat executor fields) runs
// as it did.
func TestRecordedNodeInputDecodes(t *testing.T) {
	var in run.NodeInput
	require.NoError(t, json.Unmarshal([]byte(`{"workflow_id":"wf-1","pipeline":"p",
		"node":{"id":"design","executor":{"kind":"noop","output":"Design done (simulated)"}}}`), &in))
	assert.Equal(t, dag.NewExecutor(&dag.NoopSpec{Output: "Design done (simulated)"}), in.Node.Executor)
	res := newHarness(t).mustRun(in.Node)
	assert.Equal(t, "Design done (simulated)", res.Output)
}
