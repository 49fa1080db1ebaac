package activities

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/internal/procrecord"
)

// TestCommandRecordsItsProcessGroup: with a ProcessDir, a running command
// has a record of its group there, with the token its environment carries;
// the record goes when the command is done.
func TestCommandRecordsItsProcessGroup(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process records are Linux only")
	}
	dir := filepath.Join(t.TempDir(), "worker", "procs")
	h := newHarness(t, withConfig(func(c *Config) { c.ProcessDir = dir }))
	// The record is written just after the command starts: wait for it.
	res := h.mustRun(cmdNode("sh", "-c", `echo "$MAESTRO_PROCESS_TOKEN"; i=0
		while ! ls "$0"/*.json >/dev/null 2>&1 && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
		cat "$0"/*.json`, dir))
	token, record, ok := strings.Cut(res.Output, "\n")
	require.True(t, ok, res.Output)
	var rec procrecord.Record
	require.NoError(t, json.Unmarshal([]byte(record), &rec), res.Output)
	assert.Len(t, token, 32)
	assert.Equal(t, token, rec.Token, "the record's token is the command's")
	assert.Equal(t, "wf-1", rec.WorkflowID)
	assert.Equal(t, "build", rec.NodeID)
	assert.Equal(t, int32(1), rec.Attempt)
	assert.Equal(t, os.Getpid(), rec.OwnerPID)
	assert.Positive(t, rec.PGID)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the record goes with the group")

	// Another attempt has another token.
	res = h.mustRun(cmdNode("sh", "-c", `echo "$MAESTRO_PROCESS_TOKEN"`))
	assert.NotEqual(t, token, strings.TrimSpace(res.Output))
}

// TestCancelledCommandRecordGoesAfterTheKill: a cancelled command's record
// stays until the group has had its SIGKILL.
func TestCancelledCommandRecordGoesAfterTheKill(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process records are Linux only")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHarness(t, withBackground(ctx), withConfig(func(c *Config) { c.ProcessDir = dir }))
	done := make(chan error, 1)
	// The shell ignores SIGTERM: only the SIGKILL after the grace ends it.
	go func() {
		_, err := h.run(cmdNode("sh", "-c", `trap "" TERM; sleep 30 & wait; wait`))
		done <- err
	}()
	records := func() int {
		entries, _ := os.ReadDir(dir)
		return len(entries)
	}
	require.Eventually(t, func() bool { return records() == 1 }, 10*time.Second, 10*time.Millisecond)
	cancel()
	// The grace (killGrace, 500 ms in tests) has not passed: the group may
	// still run, so its record stays.
	time.Sleep(150 * time.Millisecond)
	assert.Equal(t, 1, records(), "the record stays while the group has its grace")
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the activity did not return")
	}
	assert.Eventually(t, func() bool { return records() == 0 }, 10*time.Second, 10*time.Millisecond,
		"the record goes once the group is killed")
}

// What a command moves out of its process group (setsid) still carries the
// attempt's token: it is killed when the command ends, and when the node is
// cancelled.
func TestCommandsEscapeesAreKilled(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("process records are Linux only")
	}
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	escape := func(pidFile string) string {
		return `setsid sh -c 'echo $$ > ` + pidFile + `; exec sleep 300' </dev/null >/dev/null 2>&1 &`
	}

	t.Run("completed", func(t *testing.T) {
		pidFile, childPID := childPIDFile(t)
		h := newHarness(t, withConfig(func(c *Config) { c.ProcessDir = t.TempDir() }))
		res := h.mustRun(cmdNode("sh", "-c", escape(pidFile)+` while [ ! -s `+pidFile+` ]; do sleep 0.01; done; echo started`))
		assert.Equal(t, "started\n", res.Output)
		pid := childPID()
		assert.Eventually(t, func() bool { return processGone(pid) }, 5*time.Second, 20*time.Millisecond,
			"the escaped process %d survived its command", pid)
	})

	t.Run("cancelled", func(t *testing.T) {
		pidFile, childPID := childPIDFile(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		h := newHarness(t, withBackground(ctx), withConfig(func(c *Config) { c.ProcessDir = t.TempDir() }))
		done := make(chan error, 1)
		go func() {
			_, err := h.run(cmdNode("sh", "-c", escape(pidFile)+` sleep 300`))
			done <- err
		}()
		pid := childPID()
		cancel()
		select {
		case err := <-done:
			require.Error(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("the activity did not return")
		}
		assert.Eventually(t, func() bool { return processGone(pid) }, 5*time.Second, 20*time.Millisecond,
			"the escaped process %d survived the cancellation", pid)
	})
}
