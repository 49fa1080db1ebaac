package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
	"github.com/maestrohq/maestro/workflows"
)

// syncBuffer is a bytes.Buffer safe for the worker's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logLines parses every line of JSON logs, failing the test on one that is
// not a JSON object.
func logLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "log line is not JSON: %s", line)
		out = append(out, m)
	}
	return out
}

// TestWorkerServesMetrics runs the worker program against a real Temporal
// server with JSON logs and --metrics-listen, runs a completing template and
// a failing pipeline file on it, and scrapes /metrics over HTTP: Maestro's
// node and run metrics and the SDK's own must be there, and every log line,
// the SDK's included, must be structured.
func TestWorkerServesMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	srv := temporalServer()
	const queue = "worker-main-test"
	env := config.MapEnv{
		config.EnvDataDir:       t.TempDir(),
		"TEMPORAL_CONFIG_FILE":  filepath.Join(t.TempDir(), "absent.toml"),
		"MAESTRO_LOG_FORMAT":    "json",
		config.EnvMetricsAddr:   "127.0.0.1:1",  // the flag overrides it
		"MAESTRO_TASK_QUEUE":    "not-this-one", // so is this
		config.EnvArtifactDir:   t.TempDir(),
		config.EnvWorkerProcDir: t.TempDir(),
	}
	var logs syncBuffer
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runMain(ctx, &logs, env, nil, "worker",
			"--address", srv.HostPort(), "--namespace", srv.Namespace(), "--task-queue", queue,
			"--metrics-listen", "127.0.0.1:0")
	}()
	stopped := false
	defer func() {
		if !stopped {
			stop()
			<-done
		}
	}()

	// The worker logs where it serves metrics.
	var url string
	require.Eventually(t, func() bool {
		for _, l := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "metrics served" {
				url, _ = m["url"].(string)
			}
		}
		return url != ""
	}, 10*time.Second, 20*time.Millisecond, "no 'metrics served' log line:\n%s", logs.String())

	ctx2, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc := runs.New(srv.Client, runs.Config{TaskQueue: queue, DefaultMode: dag.ModeDAGParallel})
	ok, err := svc.Start(ctx2, runs.StartRequest{Template: templates.SDLCParallel, Requirement: "metrics"})
	require.NoError(t, err)
	failing, err := svc.Start(ctx2, runs.StartRequest{DAG: &dag.Pipeline{
		Name: "broken",
		Nodes: []dag.Node{{
			ID:       "flaky",
			Retry:    &dag.Retry{MaxAttempts: 1},
			Executor: dag.NewExecutor(&dag.NoopSpec{FailAttempts: 3}),
		}},
	}})
	require.NoError(t, err)
	st, err := svc.Wait(ctx2, ok.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status)
	st, err = svc.Wait(ctx2, failing.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Failed, st.Status)

	resp, err := http.Get(url)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var parser expfmt.TextParser
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	require.NoError(t, err, "not the Prometheus text format:\n%s", body)

	// value sums the samples of a family whose labels include want.
	value := func(name string, want map[string]string) (sum float64, found bool) {
		f := families[name]
		if f == nil {
			return 0, false
		}
	samples:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue samples
				}
			}
			found = true
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
		return sum, found
	}
	expect := func(name string, labels map[string]string, want float64) {
		t.Helper()
		got, found := value(name, labels)
		if assert.True(t, found, "no %s%v in\n%s", name, labels, body) {
			assert.Equal(t, want, got, "%s%v", name, labels)
		}
	}

	// Seven (simulated agent) phases, one attempt each, and the failing
	// node's one attempt.
	for _, phase := range []string{"requirements", "design", "backend", "frontend", "testing", "review", "deployment"} {
		labels := map[string]string{"phase": phase, "executor": "agent", "outcome": "completed", "task_queue": queue}
		expect("maestro_node_duration_seconds", labels, 1)
		expect("maestro_node_attempts_total", labels, 1)
	}
	expect("maestro_node_attempts_total", map[string]string{"phase": "custom", "executor": "noop", "outcome": "failed"}, 1)
	expect("maestro_node_duration_seconds", map[string]string{"phase": "custom", "executor": "noop", "outcome": "failed"}, 1)
	// Each run counted once, in its final state.
	expect("maestro_runs_finished_total", map[string]string{"template": templates.SDLCParallel, "status": string(run.Completed)}, 1)
	expect("maestro_runs_finished_total", map[string]string{"template": "none", "status": string(run.Failed)}, 1)
	expect("maestro_runs_finished_total", map[string]string{"status": string(run.Completed)}, 1)
	expect("maestro_runs_started_total", map[string]string{"template": templates.SDLCParallel}, 1)
	expect("maestro_runs_started_total", map[string]string{"template": "none"}, 1)
	// The SDK's own worker and client metrics.
	expect("temporal_workflow_completed_total", map[string]string{"workflow_type": workflows.WorkflowName, "task_queue": queue}, 1)
	expect("temporal_workflow_failed_total", map[string]string{"workflow_type": workflows.WorkflowName}, 1)
	_, found := value("temporal_request_total", nil)
	assert.True(t, found, "no temporal_request_total")
	_, found = value("temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "ExecuteNode"})
	assert.True(t, found, "no temporal_activity_execution_latency_seconds")

	stop()
	stopped = true
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("worker did not stop")
	}
	// The endpoint is gone with the worker.
	_, err = http.Get(url)
	assert.Error(t, err, "metrics still served after the worker stopped")

	var msgs []string
	for _, l := range logLines(t, logs.String()) {
		msgs = append(msgs, fmt.Sprint(l["msg"]))
	}
	assert.Contains(t, msgs, "worker started")
	assert.Contains(t, msgs, "node completed")
	assert.Contains(t, msgs, "worker stopped")
	assert.Contains(t, msgs, "Started Worker", "the SDK's own log lines go through slog")
	assert.Contains(t, msgs, "worker policy")
	assert.Contains(t, msgs, process.PolicyHint, "without a policy the worker says how to allow more")
}

// TestMetricsFlag checks that an empty MAESTRO_METRICS_ADDR turns the
// endpoint off, and that a taken address stops the worker before it
// connects.
func TestMetricsFlag(t *testing.T) {
	env := config.MapEnv{
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "absent.toml"),
		config.EnvDataDir:      t.TempDir(),
		config.EnvMetricsAddr:  "",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var logs syncBuffer
	// Nothing listens on port 1: the dial fails, after no metrics were served.
	err := runMain(ctx, &logs, env, nil, "worker", "--address", "127.0.0.1:1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connect to Temporal at 127.0.0.1:1")
	assert.NotContains(t, logs.String(), "metrics served")

	// A bad metrics address is reported before connecting.
	err = runMain(ctx, &logs, config.MapEnv{
		"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "absent.toml"),
		config.EnvDataDir:      t.TempDir(),
	}, nil, "worker", "--address", "127.0.0.1:1", "--metrics-listen", "256.0.0.1:0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "256.0.0.1:0 (--metrics-listen")
}

// runMain runs the CLI with args as the program would, its logs and errors
// to stderr, and returns an error holding what it printed unless it exited
// 0. ready, when not nil, receives the API's address once it serves.
func runMain(ctx context.Context, stderr io.Writer, env config.Env, ready chan<- string, args ...string) error {
	var out strings.Builder
	a := &app{stdout: io.Discard, stderr: io.MultiWriter(stderr, &out), env: env, ready: ready}
	if code := a.main(ctx, args); code != 0 {
		return fmt.Errorf("exit code %d: %s", code, out.String())
	}
	return nil
}
