package activities

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/maestrohq/maestro/dag"
)

func TestCommandOutput(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want string
	}{
		{name: "stdout", argv: []string{"echo", "hello"}, want: "hello\n"},
		{name: "no output", argv: []string{"true"}, want: ""},
		{name: "stderr is not output", argv: []string{"sh", "-c", "echo out; echo err >&2"}, want: "out\n"},
		{name: "no shell", argv: []string{"echo", "$HOME; rm -rf / `id` | cat && *"}, want: "$HOME; rm -rf / `id` | cat && *\n"},
		{name: "absolute path", argv: []string{"/bin/echo", "a b", "c"}, want: "a b c\n"},
		{name: "argv0 kept", argv: []string{"sh", "-c", `echo "$0"`, "my-zero"}, want: "my-zero\n"},
		{name: "stdin is empty", argv: []string{"cat"}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			res := h.mustRun(cmdNode(tt.argv...))
			assert.Equal(t, tt.want, res.Output)
			assert.Equal(t, len(tt.want), res.OutputBytes)
			assert.False(t, res.Truncated)
			require.NotNil(t, res.ExitCode)
			assert.Equal(t, 0, *res.ExitCode)
		})
	}
}

func TestCommandEnv(t *testing.T) {
	h := newHarness(t, withEnv(map[string]string{
		"HOME":         "/home/worker",
		"LANG":         "C.UTF-8",
		"SECRET_TOKEN": "s3cret-not-passed",
		"DEPLOY_KEY":   "passed-key",
		"GOFLAGS":      "-mod=mod",
	}))
	node := cmdNode("env")
	node.Executor.Spec.(*dag.CommandSpec).PassEnv = []string{"DEPLOY_KEY", "UNSET_VAR"}
	node.Executor.Spec.(*dag.CommandSpec).Env = map[string]string{"LANG": "de_DE.UTF-8", "EXTRA": "x=y z"}
	res := h.mustRun(node,
		withInputs(map[string]string{"unit-tests": "ok\nall passed", "design": "spec"}),
		withParams(map[string]any{"requirement": "add login", "n": 3}))

	got := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(res.Output), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			// A continuation of a multi-line value.
			continue
		}
		got[k] = v
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range got {
			if !yield(k) {
				return
			}
		}
	})
	assert.Equal(t, []string{
		"DEPLOY_KEY", "EXTRA", "HOME", "LANG",
		"MAESTRO_INPUT_DESIGN", "MAESTRO_INPUT_UNIT_TESTS", "MAESTRO_NODE_ID", "MAESTRO_PARAMS",
		"MAESTRO_PIPELINE", "MAESTRO_WORKFLOW_ID", "PATH",
	}, keys, "exactly these variables, nothing else of the worker's")
	assert.Equal(t, "passed-key", got["DEPLOY_KEY"])
	assert.Equal(t, "/home/worker", got["HOME"])
	assert.Equal(t, "de_DE.UTF-8", got["LANG"], "executor env wins")
	assert.Equal(t, "x=y z", got["EXTRA"])
	assert.Equal(t, os.Getenv("PATH"), got["PATH"])
	assert.Equal(t, "wf-1", got["MAESTRO_WORKFLOW_ID"])
	assert.Equal(t, "build", got["MAESTRO_NODE_ID"])
	assert.Equal(t, "demo", got["MAESTRO_PIPELINE"])
	assert.Equal(t, "spec", got["MAESTRO_INPUT_DESIGN"])
	assert.Contains(t, res.Output, "MAESTRO_INPUT_UNIT_TESTS=ok\nall passed\n")
	var params map[string]any
	require.NoError(t, json.Unmarshal([]byte(got["MAESTRO_PARAMS"]), &params))
	assert.Equal(t, map[string]any{"requirement": "add login", "n": 3.0}, params)
	assert.NotContains(t, res.Output, "s3cret-not-passed")
	assert.NotContains(t, h.logs.String(), "passed-key", "env values are not logged")
}

func TestCommandEnvFromOS(t *testing.T) {
	t.Setenv("MAESTRO_TEST_WORKER_SECRET", "hidden")
	t.Setenv("MAESTRO_TEST_PASSED", "shown")
	h := newHarness(t)
	node := cmdNode("sh", "-c", `echo "[$MAESTRO_TEST_WORKER_SECRET][$MAESTRO_TEST_PASSED][$MAESTRO_PARAMS]"`)
	node.Executor.Spec.(*dag.CommandSpec).PassEnv = []string{"MAESTRO_TEST_PASSED"}
	res := h.mustRun(node)
	assert.Equal(t, "[][shown][{}]\n", res.Output)
}

func TestCommandDir(t *testing.T) {
	work := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(work, "sub"), 0o755))
	other := t.TempDir()
	tests := []struct {
		name, dir, want string
	}{
		{name: "work dir", dir: "", want: work},
		{name: "relative to work dir", dir: "sub", want: filepath.Join(work, "sub")},
		{name: "absolute", dir: other, want: other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, withConfig(func(c *Config) { c.WorkDir = work }))
			node := cmdNode("pwd")
			node.Executor.Spec.(*dag.CommandSpec).Dir = tt.dir
			res := h.mustRun(node)
			assert.Equal(t, tt.want+"\n", res.Output)
		})
	}
}

func TestCommandExitError(t *testing.T) {
	h := newHarness(t)
	_, err := h.run(cmdNode("sh", "-c", "echo partial; echo 'compile error: x.go:3' >&2; exit 3"))
	appErr, f := appError(t, err, ErrTypeCommandExit, true)
	assert.Equal(t, "exit code 3: compile error: x.go:3", appErr.Message())
	require.NotNil(t, f.ExitCode)
	assert.Equal(t, 3, *f.ExitCode)
	assert.Equal(t, "compile error: x.go:3\n", f.StderrTail)
	assert.Zero(t, f.HTTPStatus)
}

func TestCommandKilledBySignal(t *testing.T) {
	h := newHarness(t)
	_, err := h.run(cmdNode("sh", "-c", "kill -9 $$"))
	appErr, f := appError(t, err, ErrTypeCommandExit, true)
	require.NotNil(t, f.ExitCode)
	assert.Equal(t, 137, *f.ExitCode)
	assert.Contains(t, appErr.Message(), "exit code 137 (killed by signal: killed)")
}

func TestCommandStderrTail(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.MaxErrorBytes = 300 }))
	_, err := h.run(cmdNode("sh", "-c", "head -c 100000 /dev/zero | tr '\\0' e >&2; echo ' the real cause' >&2; exit 1"))
	appErr, f := appError(t, err, ErrTypeCommandExit, true)
	assert.LessOrEqual(t, len(appErr.Message()), 300)
	assert.True(t, strings.HasPrefix(appErr.Message(), "exit code 1: …[truncated: last "), appErr.Message())
	assert.True(t, strings.HasSuffix(appErr.Message(), "eee the real cause"), appErr.Message())
	assert.LessOrEqual(t, len(f.StderrTail), 300)
	assert.Contains(t, f.StderrTail, " of 100016 bytes shown]\n")
	assert.True(t, strings.HasSuffix(f.StderrTail, "eee the real cause\n"))
}

func TestCommandStartErrors(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "script.sh")
	require.NoError(t, os.WriteFile(notExec, []byte("#!/bin/sh\necho hi\n"), 0o644))
	tests := []struct {
		name string
		argv []string
		dir  string
		want string
	}{
		{name: "not in PATH", argv: []string{"maestro-no-such-program"}, want: `cannot start "maestro-no-such-program": executable file not found in $PATH`},
		{name: "missing path", argv: []string{"/nonexistent/prog"}, want: "no such file or directory"},
		{name: "not executable", argv: []string{notExec}, want: "permission denied"},
		{name: "dir is a file", argv: []string{"true"}, dir: notExec, want: "is not a directory"},
		{name: "missing dir", argv: []string{"true"}, dir: "/nonexistent-dir", want: "working directory: stat /nonexistent-dir: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			node := cmdNode(tt.argv...)
			node.Executor.Spec.(*dag.CommandSpec).Dir = tt.dir
			_, err := h.run(node)
			appErr, f := appError(t, err, ErrTypeCommandStart, false)
			assert.Contains(t, appErr.Message(), tt.want)
			assert.Nil(t, f.ExitCode)
		})
	}
}

func TestCommandPathFromEnv(t *testing.T) {
	// The program is looked up in the PATH the command gets.
	bin := t.TempDir()
	script := filepath.Join(bin, "maestro-test-tool")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho tool ran\n"), 0o755))
	h := newHarness(t)
	node := cmdNode("maestro-test-tool")
	node.Executor.Spec.(*dag.CommandSpec).Env = map[string]string{"PATH": bin + ":" + os.Getenv("PATH")}
	assert.Equal(t, "tool ran\n", h.mustRun(node).Output)
}

func TestCommandOutputTruncated(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.MaxOutputBytes = 200 }))
	res := h.mustRun(cmdNode("sh", "-c", "yes 'line é' | head -c 5000"))
	assert.True(t, res.Truncated)
	assert.Equal(t, 5000, res.OutputBytes)
	assert.LessOrEqual(t, len(res.Output), 200)
	i := strings.Index(res.Output, "\n…[truncated: ")
	require.Positive(t, i)
	assert.Equal(t, strings.Repeat("line é\n", 100)[:i], res.Output[:i])
	assert.True(t, strings.HasSuffix(res.Output, "[truncated: "+strconv.Itoa(i)+" of 5000 bytes shown]"), res.Output)
}

func TestCommandHugeOutput(t *testing.T) {
	const size = 50_000_000
	h := newHarness(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := h.mustRun(cmdNode("head", "-c", strconv.Itoa(size), "/dev/zero"))
	runtime.ReadMemStats(&after)
	assert.True(t, res.Truncated)
	assert.Equal(t, size, res.OutputBytes)
	assert.LessOrEqual(t, len(res.Output), DefaultMaxOutputBytes)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(size/5), "output is not buffered whole")
}

func TestCommandHeartbeats(t *testing.T) {
	h := newHarness(t)
	h.mustRun(cmdNode("sleep", "0.3"))
	assert.Positive(t, h.heartbeats.Load())
}

// childPIDFile returns a path for a script to write a child's pid to (with
// a newline), and a function that waits for that pid and returns it.
func childPIDFile(t *testing.T) (path string, read func() int) {
	path = filepath.Join(t.TempDir(), "child.pid")
	return path, func() int {
		var pid int
		require.Eventually(t, func() bool {
			b, err := os.ReadFile(path)
			if err != nil || !strings.HasSuffix(string(b), "\n") {
				return false
			}
			pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
			return err == nil
		}, 5*time.Second, 10*time.Millisecond)
		return pid
	}
}

func TestCommandCancelKillsProcessGroup(t *testing.T) {
	tests := []struct {
		name        string
		script      string
		timeout     bool
		ignoresTerm bool
	}{
		{name: "cancel", script: "sleep 100 & echo $! > %s; wait"},
		// The group survives SIGTERM and dies of SIGKILL after the grace.
		{name: "cancel, SIGTERM ignored", script: "trap '' TERM; sleep 100 & echo $! > %s; wait", ignoresTerm: true},
		{name: "timeout", script: "sleep 100 & echo $! > %s; wait", timeout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pidFile, childPID := childPIDFile(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.timeout {
				ctx, cancel = context.WithTimeout(ctx, 500*time.Millisecond)
				defer cancel()
			}
			h := newHarness(t, withBackground(ctx))
			type outcome struct {
				err     error
				elapsed time.Duration
			}
			done := make(chan outcome, 1)
			start := time.Now()
			go func() {
				_, err := h.run(cmdNode("sh", "-c", strings.ReplaceAll(tt.script, "%s", pidFile)))
				done <- outcome{err, time.Since(start)}
			}()
			pid := childPID()
			require.False(t, processGone(pid), "child runs")
			if !tt.timeout {
				cancel()
			}
			var out outcome
			select {
			case out = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the activity did not return")
			}
			require.Error(t, out.err)
			if tt.timeout {
				var timeoutErr *temporal.TimeoutError
				assert.True(t, errors.As(out.err, &timeoutErr), "timeout error, got %v", out.err)
			} else {
				assert.Contains(t, out.err.Error(), "canceled")
			}
			var appErr *temporal.ApplicationError
			if errors.As(out.err, &appErr) {
				assert.NotEqual(t, ErrTypeCommandExit, appErr.Type(), "a stop is not a failure of the command")
			}
			assert.Less(t, out.elapsed, 5*time.Second)
			if tt.ignoresTerm {
				assert.GreaterOrEqual(t, out.elapsed, killGrace, "SIGTERM is tried first")
			}
			assert.Eventually(t, func() bool { return processGone(pid) }, 5*time.Second, 20*time.Millisecond,
				"child %d survived", pid)
		})
	}
}

func TestCommandLeftoverChildrenKilled(t *testing.T) {
	// The program exits 0 but leaves a child holding stdout: the node
	// completes (after the wait delay) and the child is killed.
	pidFile, childPID := childPIDFile(t)
	h := newHarness(t)
	res := h.mustRun(cmdNode("sh", "-c", "sleep 100 & echo $! > "+pidFile+"; echo started"))
	assert.Equal(t, "started\n", res.Output)
	pid := childPID()
	assert.Eventually(t, func() bool { return processGone(pid) }, 5*time.Second, 20*time.Millisecond,
		"child %d survived", pid)
}
