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

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/workflows"
)

// doctorJSON runs doctor --json and decodes its output.
func doctorJSON(t *testing.T, args ...string) (result, diagnosis) {
	t.Helper()
	r := runCLI(t, doctorEnv(t), append([]string{"doctor", "--json"}, args...)...)
	var d diagnosis
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &d), "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	return r, d
}

// doctorEnv gives doctor a data directory of the test's own: the host
// checks look at its workspace and artifact directories.
func doctorEnv(t *testing.T) config.MapEnv {
	return config.MapEnv{config.EnvDataDir: t.TempDir()}
}

// withHost adds the host checks' statuses to m: policy, workspace and
// artifacts pass, clock is as given.
func withHost(m map[string]string, clock string) map[string]string {
	m["policy"], m["workspace"], m["artifacts"], m["clock"] = "ok", "ok", "ok", clock
	return m
}

// TestDoctorChecksTheHost makes each host check fail through the
// configuration a worker host would have: a policy file that does not
// load, a workspace and an artifact directory that are files. Each is a
// failed check with its fix (not an error before the checks), and the
// clock check is skipped without a server.
func TestDoctorChecksTheHost(t *testing.T) {
	file := writeFile(t, "not-a-dir", "")
	badPolicy := writeFile(t, "policy.yaml", "kinds: [teleport]\n")
	r := runCLI(t, config.MapEnv{config.EnvDataDir: t.TempDir(), config.EnvPolicyFile: badPolicy,
		config.EnvWorkspaceDir: file, config.EnvArtifactDir: file},
		"doctor", "--address", unreachable, "--timeout", "2s")
	assert.Equal(t, exitError, r.code, r.stderr)
	assert.Regexp(t, `(?m)^\[FAIL\] +policy +the worker policy does not load: .*`+regexp.QuoteMeta(badPolicy), r.stdout)
	assert.Contains(t, r.stdout, "fix: fix the policy file (MAESTRO_POLICY_FILE)")
	assert.Regexp(t, `(?m)^\[FAIL\] +workspace +workspace directory `+regexp.QuoteMeta(file)+`: .*is not a directory$`, r.stdout)
	assert.Contains(t, r.stdout, "or set MAESTRO_WORKSPACE_DIR")
	assert.Regexp(t, `(?m)^\[FAIL\] +artifacts +artifact directory `+regexp.QuoteMeta(file)+`: .*is not a directory$`, r.stdout)
	assert.Contains(t, r.stdout, "or set MAESTRO_ARTIFACT_DIR")
	assert.Regexp(t, `(?m)^\[skip\] +clock +needs Temporal and the namespace$`, r.stdout)
	assert.Equal(t, "maestro: doctor: 4 of 8 checks failed\n", r.stderr)

	// A healthy host: the policy says what it allows.
	r = runCLI(t, doctorEnv(t), "doctor", "--address", unreachable, "--timeout", "2s")
	assert.Regexp(t, `(?m)^\[ok\] +policy +.*the default \(no policy configured\)`, r.stdout)
	assert.Regexp(t, `(?m)^\[ok\] +workspace +\S+ writable, git 2\.\d+`, r.stdout)
	assert.Regexp(t, `(?m)^\[ok\] +artifacts +\S+ writable$`, r.stdout)
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
	r := runCLI(t, doctorEnv(t), "doctor", "--address", unreachable, "--namespace", "ns1", "--task-queue", "q1")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, exitError, r.code, r.stderr)
	assert.Contains(t, r.stdout, "Temporal "+unreachable+", namespace ns1, task queue q1\n")
	assert.Regexp(t, `(?m)^\[FAIL\] +temporal +cannot connect to Temporal at `+regexp.QuoteMeta(unreachable)+`: .*connection refused`, r.stdout)
	assert.Contains(t, r.stdout, "fix: start a server")
	for _, name := range []string{"namespace", "worker", "search attributes"} {
		assert.Regexp(t, `(?m)^\[skip\] +`+name+` +Temporal is not reachable$`, r.stdout)
	}
	assert.Equal(t, "maestro: doctor: 1 of 8 checks failed\n", r.stderr)

	r, d := doctorJSON(t, "--address", unreachable, "--timeout", "2s")
	assert.Equal(t, exitError, r.code)
	assert.False(t, d.OK)
	assert.Equal(t, unreachable, d.Address)
	assert.Equal(t, withHost(map[string]string{"temporal": "fail", "namespace": "skip", "worker": "skip", "search_attributes": "skip"}, "skip"), statuses(d))

	r = runCLI(t, doctorEnv(t), "doctor", "--timeout", "0s")
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
		r = runCLI(t, doctorEnv(t), "doctor", "--address", addr, "--namespace", ns, "--task-queue", env.TaskQueue)
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
	assert.Equal(t, withHost(map[string]string{"temporal": "ok", "namespace": "ok", "worker": "ok", "search_attributes": "ok"}, "ok"), statuses(d))

	// Nobody polls this queue.
	r, d = doctorJSON(t, "--address", addr, "--namespace", ns, "--task-queue", "nobody-polls-this")
	assert.Equal(t, exitError, r.code)
	assert.False(t, d.OK)
	assert.Equal(t, withHost(map[string]string{"temporal": "ok", "namespace": "ok", "worker": "fail", "search_attributes": "ok"}, "ok"), statuses(d))
	assert.Equal(t, `no worker polls task queue "nobody-polls-this" (0 workflow and 0 activity pollers)`, d.Checks[2].Detail)
	assert.Equal(t, []string{"start a worker on it: maestro worker --task-queue nobody-polls-this (env MAESTRO_TASK_QUEUE), or use the queue your workers poll"}, d.Checks[2].Fix)
	assert.Equal(t, "maestro: doctor: 1 of 8 checks failed\n", r.stderr)
	r = runCLI(t, doctorEnv(t), "doctor", "--address", addr, "--namespace", ns, "--task-queue", "nobody-polls-this")
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
	assert.Equal(t, withHost(map[string]string{"temporal": "ok", "namespace": "fail", "worker": "skip", "search_attributes": "skip"}, "skip"), statuses(d))
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
	assert.Equal(t, withHost(map[string]string{"temporal": "ok", "namespace": "ok", "worker": "fail", "search_attributes": "fail"}, "ok"), statuses(d))
	sa := d.Checks[3]
	assert.Equal(t, "missing: MaestroMode, MaestroPipeline, MaestroStatus, MaestroTemplate", sa.Detail)
	require.Len(t, sa.Fix, len(workflows.SearchAttributes()))
	assert.Equal(t, "temporal operator search-attribute create --namespace "+bare+" --name MaestroMode --type Keyword", sa.Fix[0])
}
