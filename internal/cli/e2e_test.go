package cli

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
)

// The Temporal server is started by the first test that needs it, so that
// the unit tests above run without one.
var (
	serverOnce sync.Once
	server     *testenv.Server
)

func temporalServer() *testenv.Server {
	serverOnce.Do(func() { server = testenv.Start() })
	return server
}

// onServer gives the test its own task queue and worker on the shared
// server, and a way to run the CLI against them.
func onServer(t *testing.T) (*testenv.Env, func(args ...string) result) {
	t.Helper()
	env := temporalServer().New(t)
	conn := []string{"--address", server.HostPort(), "--namespace", server.Namespace(), "--task-queue", env.TaskQueue}
	return env, func(args ...string) result {
		t.Helper()
		return runCLI(t, nil, append(args, conn...)...)
	}
}

func TestMain(m *testing.M) {
	if code, ok := devChild(); ok {
		os.Exit(code)
	}
	code := m.Run()
	if server != nil {
		server.Stop()
	}
	os.Exit(code)
}

var workflowIDLine = regexp.MustCompile(`(?m)^workflow id: (\S+)$`)

// TestEndToEnd drives the CLI against a real Temporal server and worker:
// start --wait, status, list, the same --id twice, a failing run's exit code,
// retry, and control commands on closed and unknown runs.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	_, cli := onServer(t)

	// start --wait prints the ids, then the node table, and exits 0.
	r := cli("start", "--template", templates.SDLCParallel, "--requirement", "x", "--wait")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	m := workflowIDLine.FindStringSubmatch(r.stdout)
	require.NotNil(t, m, r.stdout)
	id := m[1]
	assert.Regexp(t, `(?m)^run id: +\S+$`, r.stdout)
	assert.Contains(t, r.stdout, "status:    completed, 7/7 nodes completed\n")
	assert.Contains(t, r.stdout, "note:      phases are simulated", "no agent provider: the run says its phases are simulated")
	for _, node := range []string{"requirements", "design", "backend", "frontend", "testing", "review", "deployment"} {
		assert.Regexp(t, `(?m)^`+node+` +`+node+` +completed +1 +\S+ +.* done \(simulated\)$`, r.stdout)
	}

	// status shows the same table.
	r = cli("status", id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "run:       "+id+" (run id ")
	assert.Contains(t, r.stdout, "pipeline:  sdlc-parallel, mode dag_parallel, fail_fast\n")
	assert.Contains(t, r.stdout, "status:    completed, 7/7 nodes completed\n")
	assert.Regexp(t, `(?m)^backend +backend +completed +1 `, r.stdout)

	r = cli("status", id, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var st run.Status
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), r.stdout)
	assert.Equal(t, run.Completed, st.Status)
	assert.Equal(t, 7, st.TotalNodes)
	assert.Equal(t, 7, st.CompletedNodes)

	// list finds the run once visibility has caught up, with its memo.
	var found *runs.RunSummary
	require.Eventually(t, func() bool {
		r = cli("list", "--status", "completed", "--json")
		var list []runs.RunSummary
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &list) != nil {
			return false
		}
		if i := slices.IndexFunc(list, func(s runs.RunSummary) bool { return s.WorkflowID == id }); i >= 0 {
			found = &list[i]
		}
		return found != nil
	}, 20*time.Second, 200*time.Millisecond, "run %s never listed; last output %s %s", id, r.stdout, r.stderr)
	assert.Equal(t, "sdlc-parallel", found.Pipeline)
	assert.Equal(t, templates.SDLCParallel, found.Template)
	assert.Equal(t, run.Completed, found.Status)
	assert.NotEmpty(t, found.RunID)
	require.NotNil(t, found.EndedAt)
	assert.False(t, found.EndedAt.Before(found.StartedAt))

	r = cli("list")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^`+regexp.QuoteMeta(id)+` +sdlc-parallel +completed `, r.stdout)

	r = cli("list", "--status", "running", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, id)

	// Starting with the id of an existing run returns that run.
	r = cli("start", "--template", templates.SDLCParallel, "--requirement", "x", "--id", id)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "workflow id: "+id+"\n")
	assert.Contains(t, r.stdout, "(existing run)")

	// A run that fails makes start --wait exit 1; retry reuses what completed.
	file := writeFile(t, "flaky.yaml", `
name: flaky
mode: dag_parallel
nodes:
  - id: ok
    executor: {kind: noop, output: fine}
  - id: broken
    depends_on: [ok]
    retry: {max_attempts: 1}
    executor: {kind: noop, fail_attempts: 5}
`)
	r = cli("start", "--file", file, "--wait", "--json")
	require.Equal(t, 1, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	var failed startResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &failed), r.stdout)
	require.NotNil(t, failed.Status)
	assert.Equal(t, run.Failed, failed.Status.Status)
	assert.Equal(t, run.NodeFailed, failed.Status.Node("broken").Status)
	assert.Contains(t, r.stderr, "maestro: run "+failed.WorkflowID+" failed: ")

	r = cli("retry", failed.WorkflowID, "--wait")
	assert.Equal(t, 1, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "retry of:    "+failed.WorkflowID+"\n")
	assert.Contains(t, r.stdout, "retry of:  "+failed.WorkflowID+"\n")
	assert.Regexp(t, `(?m)^ok +- +completed +1 +- +\(reused\) fine$`, r.stdout)

	// pause, resume and cancel --wait act on a running run.
	slow := writeFile(t, "slow.yaml", `
name: slow
mode: dag_parallel
nodes:
  - id: wait
    heartbeat_timeout: 2s
    executor: {kind: noop, duration: 1m}
  - id: after
    depends_on: [wait]
    executor: {kind: noop}
`)
	r = cli("start", "--file", slow, "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var running startResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &running), r.stdout)
	slowID := running.WorkflowID
	r = cli("pause", slowID)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "paused "+slowID+": running nodes finish, no new node starts until 'maestro resume "+slowID+"'\n", r.stdout)
	require.Eventually(t, func() bool {
		return strings.Contains(cli("status", slowID).stdout, "status:    paused, 0/2 nodes completed (pending 1, running 1)\n")
	}, 10*time.Second, 100*time.Millisecond)
	r = cli("resume", slowID)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "resumed "+slowID+"\n", r.stdout)
	require.Eventually(t, func() bool {
		return strings.Contains(cli("status", slowID).stdout, "status:    running, ")
	}, 10*time.Second, 100*time.Millisecond)
	r = cli("cancel", slowID, "--wait")
	require.Equal(t, 0, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stdout, "cancellation requested for "+slowID+"\n")
	assert.Contains(t, r.stdout, "status:    cancelled, 0/2 nodes completed (skipped 1, cancelled 1)\n")
	assert.Regexp(t, `(?m)^wait +- +cancelled +1 `, r.stdout)

	// Control commands explain why they cannot act.
	r = cli("pause", id)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "maestro: run is not running: "+id+" has already closed")
	for _, cmd := range []string{"cancel", "pause", "resume", "status"} {
		r = cli(cmd, "no-such-run")
		assert.Equal(t, 1, r.code, cmd)
		assert.Contains(t, r.stderr, "maestro: run not found: no-such-run", cmd)
	}
	r = cli("retry", id)
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "run cannot be retried")
	assert.False(t, strings.Contains(r.stdout, "workflow id:"))
}
