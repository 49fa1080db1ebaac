package procrecord

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for concurrent use.
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

func newLogger() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// startGroup starts `sh -c script` in its own process group as the worker
// starts a command, with env added to the test's environment, and waits
// until the group has want live processes. The group is killed when the
// test ends.
func startGroup(t *testing.T, script string, env []string, want int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-waited
	})
	require.Eventually(t, func() bool { return len(members(cmd.Process.Pid)) == want }, 10*time.Second, 10*time.Millisecond,
		"the group never had %d processes", want)
	return cmd
}

// members lists the live (not zombie) processes of group pgid.
func members(pgid int) []int {
	var out []int
	for _, pid := range pids() {
		if st, err := readStat(pid); err == nil && st.pgrp == pgid && !st.dead() {
			out = append(out, pid)
		}
	}
	return out
}

// deadOwner returns the PID of a process that has exited and been reaped.
func deadOwner(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	return cmd.Process.Pid
}

// writeRecord writes r as Write would, but with r's own owner.
func writeRecord(t *testing.T, dir string, r Record) string {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	path := filepath.Join(dir, r.Token+recordExt)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func token(t *testing.T) string {
	t.Helper()
	tok, err := NewToken()
	require.NoError(t, err)
	require.True(t, validToken(tok))
	return tok
}

// TestCleanupKillsADeadWorkersGroup: a group a dead worker left running,
// grandchildren included, is killed and its record removed.
func TestCleanupKillsADeadWorkersGroup(t *testing.T) {
	dir := t.TempDir()
	tok := token(t)
	cmd := startGroup(t, "sleep 300 & sleep 300 & wait", []string{TokenEnv + "=" + tok}, 3)
	pgid := cmd.Process.Pid
	group := members(pgid)
	path := writeRecord(t, dir, Record{PGID: pgid, OwnerPID: deadOwner(t), OwnerStart: 1,
		WorkflowID: "wf-1", NodeID: "build", Attempt: 2, Token: tok})

	logger, logs := newLogger()
	require.NoError(t, Cleanup(dir, logger))
	assert.Eventually(t, func() bool {
		for _, pid := range group {
			if st, err := readStat(pid); err == nil && !st.dead() {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond, "processes of the group still alive: %v", members(pgid))
	assert.NoFileExists(t, path)
	assert.Contains(t, logs.String(), "workflow_id=wf-1 node=build attempt=2")
	assert.Contains(t, logs.String(), "processes=3")
	assert.Equal(t, 1, strings.Count(logs.String(), "\n"), "one line per group:\n%s", logs)
}

// TestCleanupLeavesALiveWorkersGroup: the record of a live worker (this
// process) and its processes are left alone.
func TestCleanupLeavesALiveWorkersGroup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "worker", "procs")
	tok := token(t)
	cmd := startGroup(t, "sleep 300 & sleep 300 & wait", []string{TokenEnv + "=" + tok}, 3)
	remove, err := Write(dir, Record{PGID: cmd.Process.Pid, WorkflowID: "wf-1", NodeID: "build", Attempt: 1, Token: tok})
	require.NoError(t, err)
	path := filepath.Join(dir, tok+recordExt)
	r, err := readRecord(path)
	require.NoError(t, err)
	assert.Equal(t, os.Getpid(), r.OwnerPID)
	assert.NotZero(t, r.OwnerStart)
	assert.NotZero(t, r.LeaderStart)
	assert.Equal(t, "build", r.NodeID)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left")

	logger, logs := newLogger()
	require.NoError(t, Cleanup(dir, logger))
	time.Sleep(200 * time.Millisecond)
	assert.Len(t, members(cmd.Process.Pid), 3, "a live worker's processes keep running")
	assert.FileExists(t, path)
	assert.Empty(t, logs.String())

	require.NoError(t, remove())
	assert.NoFileExists(t, path)
	require.NoError(t, remove(), "removing twice is no error")
}

// TestCleanupSparesProcessesWithoutTheToken: a process in the recorded group
// without the token (the group ID reused by something else) survives.
func TestCleanupSparesProcessesWithoutTheToken(t *testing.T) {
	dir := t.TempDir()
	tok := token(t)
	cmd := startGroup(t, "sleep 300 & wait", []string{TokenEnv + "=" + tok}, 2)
	pgid := cmd.Process.Pid

	other := exec.Command("sleep", "300")
	other.Env = append(os.Environ(), TokenEnv+"="+token(t))
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: pgid}
	require.NoError(t, other.Start())
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	require.Eventually(t, func() bool { return len(members(pgid)) == 3 }, 10*time.Second, 10*time.Millisecond)

	path := writeRecord(t, dir, Record{PGID: pgid, OwnerPID: deadOwner(t), OwnerStart: 1,
		WorkflowID: "wf-1", NodeID: "build", Attempt: 1, Token: tok})
	logger, logs := newLogger()
	require.NoError(t, Cleanup(dir, logger))
	assert.Eventually(t, func() bool {
		m := members(pgid)
		return len(m) == 1 && m[0] == other.Process.Pid
	}, 10*time.Second, 20*time.Millisecond, "group members: %v", members(pgid))
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, []int{other.Process.Pid}, members(pgid), "the process without the token lives")
	assert.Contains(t, logs.String(), "processes=2")
	assert.NoFileExists(t, path)
}

// TestCleanupRemovesStaleAndGarbageRecords: records of dead owners whose
// groups are gone are removed quietly, unreadable ones with a warning;
// other files are left alone.
func TestCleanupRemovesStaleAndGarbageRecords(t *testing.T) {
	require.NoError(t, Cleanup(filepath.Join(t.TempDir(), "absent"), nil), "no directory: nothing to do")

	dir := t.TempDir()
	gone := deadOwner(t)
	stale := writeRecord(t, dir, Record{PGID: gone, OwnerPID: deadOwner(t), OwnerStart: 1, NodeID: "old", Token: token(t)})
	garbage := filepath.Join(dir, token(t)+recordExt)
	require.NoError(t, os.WriteFile(garbage, []byte("{not json"), 0o600))
	badToken := filepath.Join(dir, "x"+recordExt)
	require.NoError(t, os.WriteFile(badToken, []byte(`{"pgid":1,"owner_pid":1,"token":"x"}`), 0o600))
	noGroup := writeRecord(t, dir, Record{PGID: 0, OwnerPID: gone, Token: token(t)})
	other := filepath.Join(dir, "README")
	require.NoError(t, os.WriteFile(other, []byte("hi"), 0o600))

	logger, logs := newLogger()
	require.NoError(t, Cleanup(dir, logger))
	for _, p := range []string{stale, garbage, badToken, noGroup} {
		assert.NoFileExists(t, p)
	}
	assert.FileExists(t, other)
	assert.Equal(t, 3, strings.Count(logs.String(), "removing an unreadable process record"), logs.String())
	assert.NotContains(t, logs.String(), "killed")

	_, err := Write(dir, Record{PGID: 1, Token: "../escape"})
	assert.Error(t, err, "a token must be a safe file name")
}

func TestParseStat(t *testing.T) {
	line := "4242 (a) b (c)) S 1 4240 4240 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	st, err := parseStat([]byte(line))
	require.NoError(t, err)
	assert.Equal(t, stat{state: 'S', pgrp: 4240, start: 987654}, st)
	_, err = parseStat([]byte("4242 (sh) S 1"))
	assert.Error(t, err)
}
