package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/maestrohq/maestro/workflows"
)

// doctorJSON runs doctor --json and decodes its output.
func doctorJSON(t *testing.T, args ...string) (result, diagnosis) {
	t.Helper()
	r := runCLI(t, nil, append([]string{"doctor", "--json"}, args...)...)
	var d diagnosis
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d), "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	return r, d
}

// statuses maps each check's name to its status.
func statuses(d diagnosis) map[string]string {
	out := map[string]string{}
	for _, c := range d.Checks {
		out[c.Name] = c.Status
	}
	return out
}

// TestDoctorUnreachable checks that doctor fails fast, with exit code 1 and
// a message naming the address, when nothing listens there.
func TestDoctorUnreachable(t *testing.T) {
	start := time.Now()
	r := runCLI(t, nil, "doctor", "--address", unreachable, "--namespace", "ns1", "--task-queue", "q1")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, exitError, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Temporal "+unreachable+", namespace ns1, task queue q1\n")
	assert.Regexp(t, `(?m)^\[FAIL\] +temporal +cannot connect to Temporal at `+regexp.QuoteMeta(unreachable)+`: .*connection refused`, r.stdout)
	assert.Contains(t, r.stdout, "fix: start a server")
	for _, name := range []string{"namespace", "worker", "search attributes"} {
		assert.Regexp(t, `(?m)^\[skip\] +`+name+` +Temporal is not reachable$`, r.stdout)
	}
	assert.Equal(t, "maestro: doctor: 1 of 4 checks failed\n", r.stderr)

	r, d := doctorJSON(t, "--address", unreachable, "--timeout", "2s")
	assert.Equal(t, exitError, r.code)
	assert.False(t, d.OK)
	assert.Equal(t, unreachable, d.Address)
	assert.Equal(t, map[string]string{"temporal": "fail", "namespace": "skip", "worker": "skip", "search_attributes": "skip"}, statuses(d))

	r = runCLI(t, nil, "doctor", "--timeout", "0s")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--timeout must be positive")
}

// TestDoctor runs doctor against a real server: all checks pass with a
// worker on the queue; a queue nobody polls, an unknown namespace and a
// namespace without Maestro's search attributes each fail their check.
func TestDoctor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	env := temporalServer().New(t)
	addr, ns := server.HostPort(), server.Namespace()

	// The worker has just started: its pollers show once they have polled.
	var r result
	assert.Eventually(t, func() bool {
		r = runCLI(t, nil, "doctor", "--address", addr, "--namespace", ns, "--task-queue", env.TaskQueue)
		return r.code == exitOK
	}, 10*time.Second, 100*time.Millisecond)
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Regexp(t, `(?m)^\[ok\] +temporal +reachable at `+regexp.QuoteMeta(addr)+`, server \d+\.\d+\.\d+`, r.stdout)
	assert.Regexp(t, `(?m)^\[ok\] +namespace +"`+regexp.QuoteMeta(ns)+`" exists$`, r.stdout)
	assert.Regexp(t, `(?m)^\[ok\] +worker +task queue "`+env.TaskQueue+`" has [1-9]\d* workflow and [1-9]\d* activity pollers$`, r.stdout)
	assert.Regexp(t, `(?m)^\[ok\] +search attributes +MaestroMode, MaestroPipeline, MaestroStatus, MaestroTemplate registered$`, r.stdout)
	assert.NotContains(t, r.stdout, "FAIL")
	assert.Empty(t, r.stderr)

	r, d := doctorJSON(t, "--address", addr, "--namespace", ns, "--task-queue", env.TaskQueue)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.True(t, d.OK)
	assert.Equal(t, diagnosis{OK: true, Address: addr, Namespace: ns, TaskQueue: env.TaskQueue}, diagnosis{OK: d.OK, Address: d.Address, Namespace: d.Namespace, TaskQueue: d.TaskQueue})
	assert.Equal(t, map[string]string{"temporal": "ok", "namespace": "ok", "worker": "ok", "search_attributes": "ok"}, statuses(d))

	// Nobody polls this queue.
	r, d = doctorJSON(t, "--address", addr, "--namespace", ns, "--task-queue", "nobody-polls-this")
	assert.Equal(t, exitError, r.code)
	assert.False(t, d.OK)
	assert.Equal(t, map[string]string{"temporal": "ok", "namespace": "ok", "worker": "fail", "search_attributes": "ok"}, statuses(d))
	assert.Equal(t, `no worker polls task queue "nobody-polls-this" (0 workflow and 0 activity pollers)`, d.Checks[2].Detail)
	assert.Equal(t, []string{"start a worker on it: maestro worker --task-queue nobody-polls-this (env MAESTRO_TASK_QUEUE), or use the queue your workers poll"}, d.Checks[2].Fix)
	assert.Equal(t, "maestro: doctor: 1 of 4 checks failed\n", r.stderr)
	r = runCLI(t, nil, "doctor", "--address", addr, "--namespace", ns, "--task-queue", "nobody-polls-this")
	assert.Equal(t, exitError, r.code)
	assert.Regexp(t, `(?m)^\[FAIL\] +worker +no worker polls task queue "nobody-polls-this"`, r.stdout)

	// A worker that polls for workflow tasks only.
	const wfOnly = "workflow-tasks-only"
	w := worker.New(server.Client, wfOnly, worker.Options{LocalActivityWorkerOnly: true})
	workflows.Register(w)
	require.NoError(t, w.Start())
	defer w.Stop()
	assert.Eventually(t, func() bool {
		r, d = doctorJSON(t, "--address", addr, "--namespace", ns, "--task-queue", wfOnly)
		return strings.Contains(d.Checks[2].Detail, "nothing polls it")
	}, 10*time.Second, 100*time.Millisecond)
	assert.Equal(t, exitError, r.code)
	assert.Regexp(t, `^task queue "`+wfOnly+`" has [1-9]\d* workflow and 0 activity pollers: nothing polls it for activity tasks$`, d.Checks[2].Detail)

	// An unknown namespace: the checks that need it are skipped.
	r, d = doctorJSON(t, "--address", addr, "--namespace", "no-such-namespace", "--task-queue", env.TaskQueue)
	assert.Equal(t, exitError, r.code)
	assert.Equal(t, map[string]string{"temporal": "ok", "namespace": "fail", "worker": "skip", "search_attributes": "skip"}, statuses(d))
	assert.Equal(t, []string{"temporal operator namespace create --namespace no-such-namespace, or use --namespace / TEMPORAL_NAMESPACE"}, d.Checks[1].Fix)

	// A namespace without Maestro's search attributes.
	bare := fmt.Sprintf("doctor-bare-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := server.Client.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        bare,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, d = doctorJSON(t, "--address", addr, "--namespace", bare, "--task-queue", env.TaskQueue)
		return statuses(d)["namespace"] == "ok"
	}, 8*time.Second, 100*time.Millisecond, "namespace %s never visible", bare)
	assert.Equal(t, map[string]string{"temporal": "ok", "namespace": "ok", "worker": "fail", "search_attributes": "fail"}, statuses(d))
	sa := d.Checks[3]
	assert.Equal(t, "missing: MaestroMode, MaestroPipeline, MaestroStatus, MaestroTemplate", sa.Detail)
	require.Len(t, sa.Fix, len(workflows.SearchAttributes()))
	assert.Equal(t, "temporal operator search-attribute create --namespace "+bare+" --name MaestroMode --type Keyword", sa.Fix[0])
}
