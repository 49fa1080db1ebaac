package procrecord

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// recordExt ends every record's file name; tempPrefix starts a record being
// written.
const (
	recordExt  = ".json"
	tempPrefix = ".tmp-"
	// staleTemp is the age after which a temporary file left by a crash
	// mid-write is removed.
	staleTemp = time.Hour
	// killRounds bounds the scans for a group's processes: a process may
	// fork between one scan and its SIGKILL.
	killRounds = 10
)

// Write records r in dir (created if missing) as the group of a command
// this process runs, filling in the owner (this process) and the leader's
// start time. The file is written to a temporary name and renamed, so that
// Cleanup never reads half a record. remove deletes the record; call it
// once the group is finished.
func Write(dir string, r Record) (remove func() error, err error) {
	if !validToken(r.Token) {
		return nil, fmt.Errorf("process record: malformed token %q", r.Token)
	}
	if r.PGID <= 0 {
		return nil, fmt.Errorf("process record: process group %d", r.PGID)
	}
	self, err := readStat(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("process record: %w", err)
	}
	r.OwnerPID, r.OwnerStart = os.Getpid(), self.start
	if leader, err := readStat(r.PGID); err == nil {
		r.LeaderStart = leader.start
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("process record: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("process record directory: %w", err)
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("process record: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	path := filepath.Join(dir, r.Token+recordExt)
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, fmt.Errorf("process record: %w", err)
	}
	return func() error {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("process record: %w", err)
		}
		return nil
	}, nil
}

// Cleanup goes through the records in dir (none when it does not exist).
// It leaves alone those whose owner is alive, this process's included: other
// workers may share dir. For each record of a dead owner, it SIGKILLs the
// live processes of the recorded group whose environment holds the record's
// token (a process of a reused group ID without it is spared), logs one
// line per group it killed processes of, and removes the record. Unreadable
// or malformed records are removed with a warning. It returns an error only
// when dir cannot be read.
func Cleanup(dir string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("process records: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		switch {
		case e.IsDir():
			continue
		case strings.HasPrefix(name, tempPrefix):
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTemp {
				_ = os.Remove(path)
			}
			continue
		case !strings.HasSuffix(name, recordExt):
			continue
		}
		r, err := readRecord(path)
		if err != nil {
			logger.Warn("removing an unreadable process record", "path", path, "error", err)
			removeRecord(path, logger)
			continue
		}
		if alive(r.OwnerPID, r.OwnerStart) {
			continue
		}
		// The token is the attempt's own: what it moved out of its
		// group (setsid) is found too.
		if n := killGroup(anyGroup, r.Token); n > 0 {
			logger.Warn("killed the processes a dead worker left running",
				"workflow_id", r.WorkflowID, "node", r.NodeID, "attempt", r.Attempt,
				"pgid", r.PGID, "processes", n)
		}
		removeRecord(path, logger)
	}
	return nil
}

// readRecord reads and checks one record.
func readRecord(path string) (Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, err
	}
	switch {
	case r.PGID <= 0:
		return Record{}, fmt.Errorf("process group %d", r.PGID)
	case r.OwnerPID <= 0:
		return Record{}, fmt.Errorf("owner %d", r.OwnerPID)
	case !validToken(r.Token):
		return Record{}, fmt.Errorf("malformed token %q", r.Token)
	case filepath.Base(path) != r.Token+recordExt:
		return Record{}, errors.New("the token is not the file's name")
	}
	return r, nil
}

func removeRecord(path string, logger *slog.Logger) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		logger.Warn("cannot remove a process record", "path", path, "error", err)
	}
}

// alive reports whether the process pid exists, is not a zombie, and
// started at start (so is not another process that reuses the PID).
func alive(pid int, start uint64) bool {
	st, err := readStat(pid)
	return err == nil && !st.dead() && st.start == start
}

// KillTagged SIGKILLs every live process whose environment holds token
// (TokenEnv=token), whatever its process group, and returns how many it
// killed: what an attempt's command started and moved out of its group
// (setsid, a daemon) still carries the token. A process that cleared its
// environment is not found.
func KillTagged(token string) int {
	if !validToken(token) {
		return 0
	}
	return killGroup(anyGroup, token)
}

// anyGroup makes killGroup look at every process group.
const anyGroup = -1

// killGroup SIGKILLs the live processes of group pgid (anyGroup: of any)
// whose environment holds token, scanning again while it finds some, and
// returns how many it killed.
func killGroup(pgid int, token string) int {
	want := []byte(TokenEnv + "=" + token)
	self := os.Getpid()
	killed := map[int]bool{}
	for range killRounds {
		found := 0
		for _, pid := range pids() {
			if pid == self {
				continue
			}
			st, err := readStat(pid)
			if err != nil || pgid != anyGroup && st.pgrp != pgid || st.dead() {
				continue
			}
			env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
			if err != nil || !hasEntry(env, want) {
				continue
			}
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed[pid] = true
				found++
			}
		}
		if found == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return len(killed)
}

// hasEntry reports whether the NUL-separated environment env holds entry.
func hasEntry(env, entry []byte) bool {
	for e := range bytes.SplitSeq(env, []byte{0}) {
		if bytes.Equal(e, entry) {
			return true
		}
	}
	return false
}

// pids lists the processes in /proc.
func pids() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

// stat is what Cleanup needs of /proc/<pid>/stat.
type stat struct {
	state byte
	pgrp  int
	start uint64
}

// dead reports whether the process has exited and waits to be reaped
// (zombie) or is being torn down.
func (s stat) dead() bool { return s.state == 'Z' || s.state == 'X' || s.state == 'x' }

// readStat reads /proc/<pid>/stat: the state (field 3), the process group
// (field 5) and the start time (field 22).
func readStat(pid int) (stat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, err
	}
	return parseStat(b)
}

// parseStat parses a /proc/<pid>/stat line. The command name (field 2) is
// in parentheses and may hold spaces and parentheses itself: the fields
// after it start after the last ')'.
func parseStat(b []byte) (stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3.
	if len(f) < 20 || len(f[0]) != 1 {
		return stat{}, errors.New("malformed /proc stat")
	}
	pgrp, err := strconv.Atoi(f[5-3])
	if err != nil {
		return stat{}, fmt.Errorf("malformed /proc stat: %w", err)
	}
	start, err := strconv.ParseUint(f[22-3], 10, 64)
	if err != nil {
		return stat{}, fmt.Errorf("malformed /proc stat: %w", err)
	}
	return stat{state: f[0][0], pgrp: pgrp, start: start}, nil
}
