package workflows_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// TestTemplateLimitsOnARealWorker runs, on a real Temporal server and
// worker, an http node whose body would render 200 MB within the range
// bound of a start (it fails at once with
// TemplateLimit, never retried, sending nothing) and one whose body recurses
// 2^60 times through {{template}} (allowed at start, as no range literal is
// involved; it stops with its node's timeout and leaves no CPU use behind).
func TestTemplateLimitsOnARealWorker(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer srv.Close()
	e := server.New(t)
	retry := &dag.Retry{MaxAttempts: 5, InitialInterval: "50ms"}

	// 10^6 iterations (the most a start allows) of 200 bytes: 200 MB.
	body := "{{range 1000}}{{range 1000}}" + strings.Repeat("x", 200) + "{{end}}{{end}}"
	bomb := dag.Node{ID: "bomb", Retry: retry, Executor: dag.NewExecutor(&dag.HTTPSpec{URL: srv.URL, Body: body})}
	st := runToEnd(t, e, runs.StartRequest{DAG: pipeline("output-bomb", dag.ModeDAGParallel, bomb)})
	require.Equal(t, run.Failed, st.Status)
	n := st.Node("bomb")
	assert.Equal(t, "TemplateLimit", n.ErrorType)
	assert.EqualValues(t, 1, n.Attempts, "never retried")
	assert.Contains(t, n.Error, "executor.body: template output exceeds 1048576 bytes")

	const recursion = `{{define "a"}}{{if .}}{{template "a" slice . 1}}{{template "a" slice . 1}}{{end}}{{end}}{{template "a" .Params.s}}`
	spin := dag.Node{ID: "spin", Timeout: "1s", Retry: &dag.Retry{MaxAttempts: 1},
		Executor: dag.NewExecutor(&dag.HTTPSpec{URL: srv.URL, Body: recursion})}
	p := pipeline("cpu-bomb", dag.ModeDAGParallel, spin)
	p.Params = map[string]any{"s": strings.Repeat("x", 60)}
	began := time.Now()
	st = runToEnd(t, e, runs.StartRequest{DAG: p})
	took := time.Since(began)
	require.Equal(t, run.Failed, st.Status)
	assert.Contains(t, st.Node("spin").Error, "timed out")
	assert.Less(t, took, 10*time.Second)

	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	time.Sleep(time.Second)
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	used := time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) - cpu
	assert.Less(t, used, 500*time.Millisecond, "CPU used by the whole process (server and worker) in the second after the run ended")
	t.Logf("the spinning run ended after %s; %s of CPU in the next second", took.Round(time.Millisecond), used.Round(time.Millisecond))
	assert.Zero(t, hits.Load(), "no request was sent")
}
