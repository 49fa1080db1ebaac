package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/devserver"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// childEnv marks the test binary re-executed as the dev process; its value is
// the space-separated dev flags.
const childEnv = "MAESTRO_DEVMODE_TEST_CHILD"

// devChild runs the test binary as `maestro dev` with the flags in
// childEnv, and reports whether it did (TestMain then exits with the code).
func devChild() (int, bool) {
	var cmdline []string
	if args, ok := os.LookupEnv(childEnv); ok {
		cmdline = append([]string{"dev"}, strings.Fields(args)...)
	} else if args, ok := os.LookupEnv(cliChildEnv); ok {
		cmdline = strings.Fields(args)
	} else {
		return 0, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return Main(ctx, cmdline, os.Stdout, os.Stderr, config.OSEnv), true
}

// cliChildEnv marks the test binary re-executed as `maestro` with the
// space-separated command line it holds (e.g. "worker --task-queue q"),
// handling SIGTERM and SIGINT as the binary does (Run).
const cliChildEnv = "MAESTRO_CLI_TEST_CHILD"

// devProcess is a running dev mode in a child process.
type devProcess struct {
	cmd *exec.Cmd
	out strings.Builder
}

// startDev starts the dev mode and waits until it says it is ready.
func startDev(t *testing.T, extraEnv []string, args ...string) *devProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, " "), config.EnvLogLevel+"=warn")
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &devProcess{cmd: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.out.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "ready") {
				ready <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- fmt.Errorf("dev mode exited before it was ready:\n%s", p.out.String())
	}()
	select {
	case err := <-ready:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("dev mode not ready after 60s:\n%s", p.out.String())
	}
	return p
}

func TestDevModeResumesARunAfterSIGKILL(t *testing.T) {
	dataDir := t.TempDir()
	temporalAddr, err := devserver.FreeAddr()
	require.NoError(t, err)
	uiAddr, err := devserver.FreeAddr()
	require.NoError(t, err)
	apiAddr, err := devserver.FreeAddr()
	require.NoError(t, err)
	args := []string{"--data-dir", dataDir, "--temporal-listen", temporalAddr, "--ui-listen", uiAddr, "--api-listen", apiAddr}

	// Dev mode configures its API from the same variables as `maestro api`.
	dev := startDev(t, []string{config.EnvAPIRateLimit + "=0", config.EnvAPICORSOrigins + "=https://app.example"}, args...)
	assert.Contains(t, dev.out.String(), temporalAddr)
	assert.Contains(t, dev.out.String(), "http://"+uiAddr)
	resp, err := http.Get("http://" + uiAddr + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the Web UI is served")
	assert.Contains(t, dev.out.String(), "http://"+apiAddr)
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + apiAddr + "/health")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var h struct{ Status string }
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&h) == nil && h.Status == "healthy"
	}, 20*time.Second, 100*time.Millisecond, "the API answers /health: Temporal up, the worker polling")

	// MAESTRO_API_RATE_LIMIT=0 disables rate limiting (the default allows
	// a burst of 200): no request of 400 is refused.
	for i := range 400 {
		resp, err := http.Get("http://" + apiAddr + "/api/templates")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "request %d", i)
	}
	req, err := http.NewRequest(http.MethodOptions, "http://"+apiAddr+"/api/workflows", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", http.MethodPost)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "https://app.example", resp.Header.Get("Access-Control-Allow-Origin"), "MAESTRO_API_CORS_ORIGINS applies in dev mode")
	assert.NotContains(t, dev.out.String(), "Agents:     \n")
	assert.Contains(t, dev.out.String(), "  Policy:     everything allowed (dev mode)\n", "dev mode allows everything and says so")

	c, err := client.Dial(client.Options{HostPort: temporalAddr})
	require.NoError(t, err)
	defer c.Close()
	svc := runs.New(c, runs.Config{})
	missing, err := runs.MissingSearchAttributes(context.Background(), c, "default")
	require.NoError(t, err)
	assert.Empty(t, missing, "Maestro's search attributes are registered on start")

	// a and c log each execution; slow runs long enough to be killed.
	logFile := filepath.Join(t.TempDir(), "log")
	logNode := func(id string, deps ...string) dag.Node {
		return dag.Node{ID: id, DependsOn: deps, Executor: dag.NewExecutor(&dag.CommandSpec{
			Process: dag.Process{Argv: []string{"sh", "-c", `echo "$1" >> "$0"`, logFile, id}}})}
	}
	slow := dag.Node{ID: "slow", DependsOn: []string{"a"}, HeartbeatTimeout: "1s",
		Retry:    &dag.Retry{InitialInterval: "100ms"},
		Executor: dag.NewExecutor(&dag.NoopSpec{Duration: "4s"})}
	// sleeper is a running command when the worker is killed: it must die
	// with it, not run on beside its retry. So must the grandchild it
	// starts, which the kernel leaves running: the restarted worker kills it.
	pidFile := filepath.Join(t.TempDir(), "pid")
	grandchildFile := filepath.Join(t.TempDir(), "grandchild")
	// It has the default heartbeat timeout: the time a crash costs. It may
	// fail only once, yet the attempt the kill costs it is not a failure.
	sleeper := dag.Node{ID: "sleeper", DependsOn: []string{"a"},
		Retry: &dag.Retry{MaxAttempts: 1, InitialInterval: "100ms"},
		Executor: dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{
			Argv: []string{"sh", "-c", `sleep 300 >/dev/null 2>&1 & echo $! >> "$1"; echo $$ >> "$0"; exec sleep 3`, pidFile, grandchildFile}}})}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	started, err := svc.Start(ctx, runs.StartRequest{DAG: &dag.Pipeline{
		Name: "crash", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{logNode("a"), slow, sleeper, logNode("c", "slow")},
	}})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := svc.Status(ctx, started.WorkflowID)
		return err == nil && st.Node("slow").Status == run.NodeRunning
	}, 30*time.Second, 50*time.Millisecond)
	var sleeperPID int
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(pidFile)
		if err != nil || !strings.HasSuffix(string(b), "\n") {
			return false
		}
		sleeperPID, err = strconv.Atoi(strings.Fields(string(b))[0])
		return err == nil
	}, 30*time.Second, 20*time.Millisecond)
	b, err := os.ReadFile(grandchildFile)
	require.NoError(t, err)
	grandchildPID, err := strconv.Atoi(strings.Fields(string(b))[0])
	require.NoError(t, err)

	// The worker's and the API's metrics share one registry.
	resp, err = http.Get("http://" + apiAddr + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), "temporal_", "the SDK's metrics are served")
	assert.Contains(t, string(body), "maestro_", "Maestro's metrics are served")

	killed := time.Now()
	require.NoError(t, dev.cmd.Process.Signal(syscall.SIGKILL))
	_ = dev.cmd.Wait()
	c.Close()
	// The kernel kills the worker's commands with it (the parent-death
	// signal): the sleeper is gone at once, not after its 3 s.
	// A zombie (killed, not reaped yet by whoever inherits it) counts as
	// gone.
	assert.Eventually(t, func() bool { return !processLive(sleeperPID) }, 2*time.Second, 10*time.Millisecond,
		"a command must not outlive its killed worker")
	if runtime.GOOS == "linux" {
		t.Cleanup(func() { _ = syscall.Kill(grandchildPID, syscall.SIGKILL) })
		assert.True(t, processLive(grandchildPID), "the kernel leaves what a command started running")
	}

	startDev(t, nil, args...)
	if runtime.GOOS == "linux" {
		// The restarted worker kills it before it polls.
		assert.Eventually(t, func() bool { return !processLive(grandchildPID) }, 10*time.Second, 20*time.Millisecond,
			"the killed attempt's grandchild outlives the restart")
	}
	c2, err := client.Dial(client.Options{HostPort: temporalAddr})
	require.NoError(t, err)
	defer c2.Close()
	svc = runs.New(c2, runs.Config{})
	st, err := svc.Wait(ctx, started.WorkflowID)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	b, err = os.ReadFile(logFile)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "c"}, strings.Fields(string(b)), "a ran once before the kill and was not run again")
	assert.GreaterOrEqual(t, st.Node("slow").Attempts, int32(2), "slow was interrupted and retried")
	assert.Equal(t, run.NodeCompleted, st.Node("sleeper").Status)
	// Its retry started once the default heartbeat timeout (10 s) passed.
	b, err = os.ReadFile(pidFile)
	require.NoError(t, err)
	require.Len(t, strings.Fields(string(b)), 2, "the sleeper ran twice: before the kill and after")
	fi, err := os.Stat(pidFile)
	require.NoError(t, err)
	recovery := fi.ModTime().Sub(killed)
	t.Logf("the killed worker's command was running again %s after the kill", recovery.Round(100*time.Millisecond))
	assert.Less(t, recovery, 30*time.Second, "a crash costs the heartbeat timeout, not more")
}

// processLive reports whether pid runs: it exists and is not a zombie (an
// orphan's zombie waits for an init that may not reap). Linux only.
func processLive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	state := b[i+2]
	return state != 'Z' && state != 'X'
}
