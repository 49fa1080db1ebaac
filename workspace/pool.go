package workspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxIdle is how many idle worktrees a Manager keeps per mirror; Remove
// deletes a checkout when its mirror's pool is full.
const maxIdle = 4

// idle is a pooled worktree: made by this Manager, given back by Remove (or
// by a Checkout whose merge conflicted), and reset to a new base before it is
// handed out again. Its flock stays held, so Sweep (of this process or of
// another one sharing Dir) leaves it alone while this process lives, and
// deletes it once the process is gone.
type idle struct {
	mir     *mirror
	id      string
	path    string
	gitFile string // content of path/.git when git made the worktree
	lock    *os.File
}

// takeIdle pops the mirror's most recently pooled worktree, or returns nil.
func (m *Manager) takeIdle(mir *mirror) *idle {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.idle[mir.path]
	if len(l) == 0 {
		return nil
	}
	w := l[len(l)-1]
	l[len(l)-1] = nil
	m.idle[mir.path] = l[:len(l)-1]
	return w
}

// putIdle pools w unless the Manager is closed or the mirror's pool is full.
func (m *Manager) putIdle(w *idle) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || len(m.idle[w.mir.path]) >= maxIdle {
		return false
	}
	m.idle[w.mir.path] = append(m.idle[w.mir.path], w)
	return true
}

// Close deletes the Manager's idle pooled checkouts and stops pooling:
// checkouts removed (or whose merge conflicts) afterwards are deleted.
// Checkouts handed out and not yet removed are left to their callers' Remove.
// The Manager stays usable. Call it when the worker stops; idle checkouts of
// a process that exits without Close are deleted by the next Sweep.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	pools := m.idle
	m.idle = map[string][]*idle{}
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	for _, l := range pools {
		for _, w := range l {
			if err := m.deleteWorktree(ctx, w.mir, w.id, w.path, w.lock); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("workspace: close: %w", err)
	}
	return nil
}

// reuse takes an idle worktree of mir, resets it to base and returns it as a
// Checkout; nil when there is none or it could not be reset exactly (it is
// then deleted). A reset cut short by ctx returns ctx's error.
func (m *Manager) reuse(ctx context.Context, mir *mirror, base string) (*Checkout, error) {
	w := m.takeIdle(mir)
	if w == nil {
		return nil, nil
	}
	c := &Checkout{m: m, mir: mir, id: w.id, path: w.path, base: base, gitFile: w.gitFile, lock: w.lock}
	err := m.reset(ctx, w, base)
	if err == nil {
		return c, nil
	}
	m.r.log.Debug("workspace: pooled checkout not reusable, deleting it",
		slog.String("id", w.id), slog.String("error", err.Error()))
	c.release(false)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, nil
}

// Files git may leave in a worktree's admin directory (Dir/mirrors/<key>.git/
// worktrees/<name>) that a reset removes; any other name than these and
// keepAdmin's makes the worktree unusable (a rebase, cherry-pick or bisect in
// progress, per-worktree config or refs, ...).
var (
	keepAdmin   = map[string]bool{"HEAD": true, "commondir": true, "gitdir": true, "index": true}
	dropAdmin   = map[string]bool{"ORIG_HEAD": true, "FETCH_HEAD": true, "COMMIT_EDITMSG": true, "logs": true, "MERGE_HEAD": true, "MERGE_MSG": true, "MERGE_MODE": true, "MERGE_RR": true, "AUTO_MERGE": true}
	errNotExact = errors.New("worktree not reset exactly")
)

// reset makes the idle worktree w exactly a fresh checkout of base: HEAD
// detached at base, the tracked files as in base (owner-writable), nothing
// untracked or ignored, no merge state. It runs while w's flock is held (it
// is never released between Remove and reuse). Any error means the worktree
// must be deleted.
func (m *Manager) reset(ctx context.Context, w *idle, base string) error {
	fail := func(err error) error { return fmt.Errorf("workspace: reset checkout %s: %w", w.id, err) }
	// The worktree must still be the one git made: a real directory whose
	// .git file points at its admin directory in the mirror.
	if fi, err := os.Lstat(w.path); err != nil || !fi.IsDir() {
		return fail(fmt.Errorf("%w: not a directory", errNotExact))
	}
	b, err := os.ReadFile(filepath.Join(w.path, ".git"))
	if err != nil {
		return fail(err)
	}
	if string(b) != w.gitFile {
		return fail(fmt.Errorf("%w: .git changed", errNotExact))
	}
	admin := strings.TrimSpace(strings.TrimPrefix(w.gitFile, "gitdir:"))
	// Read-only files and directories (chmod -w) would make the reset fail
	// and stay read-only where git does not rewrite the file.
	if err := makeWritable(w.path, true); err != nil {
		return fail(err)
	}
	// --detach first: a branch the caller left HEAD on is never moved.
	if _, err := m.r.git(ctx, w.path, "-c", "checkout.workers=0", "checkout", "--detach", "--force", "--quiet", base, "--"); err != nil {
		return fail(err)
	}
	if _, err := m.r.git(ctx, w.path, "clean", "-ffdxq"); err != nil {
		return fail(err)
	}
	ents, err := os.ReadDir(admin)
	if err != nil {
		return fail(err)
	}
	for _, e := range ents {
		switch name := e.Name(); {
		case keepAdmin[name]:
		case dropAdmin[name]:
			if err := os.RemoveAll(filepath.Join(admin, name)); err != nil {
				return fail(err)
			}
		default:
			return fail(fmt.Errorf("%w: %s in the worktree's git dir", errNotExact, name))
		}
	}
	// Assume-unchanged and skip-worktree entries hide changes from git
	// checkout and git status.
	out, err := m.r.git(ctx, w.path, "ls-files", "-v", "-z")
	if err != nil {
		return fail(err)
	}
	for _, f := range strings.Split(out, "\x00") {
		if f != "" && !strings.HasPrefix(f, "H ") {
			return fail(fmt.Errorf("%w: index entry %q is not a plain cached file", errNotExact, f))
		}
	}
	out, err = m.r.git(ctx, w.path, "status", "--porcelain=v2", "--branch", "--ignored=traditional",
		"--untracked-files=all", "--ignore-submodules=none", "--no-renames")
	if err != nil {
		return fail(err)
	}
	var oid, head string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "":
		case strings.HasPrefix(line, "# branch.oid "):
			oid = strings.TrimPrefix(line, "# branch.oid ")
		case strings.HasPrefix(line, "# branch.head "):
			head = strings.TrimPrefix(line, "# branch.head ")
		case strings.HasPrefix(line, "# "):
		default:
			return fail(fmt.Errorf("%w: status: %q", errNotExact, line))
		}
	}
	if oid != base || head != "(detached)" {
		return fail(fmt.Errorf("%w: HEAD is %s %s, want %s detached", errNotExact, oid, head, base))
	}
	return nil
}

// makeWritable gives the owner read and write permission on every regular
// file and directory under root (and search permission on directories), so
// they can be rewritten and deleted. Symbolic links are not followed. With
// strict false it goes on past errors and returns nil.
func makeWritable(root string, strict bool) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if strict {
				return err
			}
			return nil
		}
		want := fs.FileMode(0o600)
		switch {
		case d.IsDir():
			want = 0o700
		case !d.Type().IsRegular():
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if strict {
				return err
			}
			return nil
		}
		if perm := fi.Mode().Perm(); perm&want != want {
			if err := os.Chmod(p, perm|want); err != nil && strict {
				return err
			}
		}
		return nil
	})
}

// forceRemoveAll removes p like os.RemoveAll, making read-only directories
// writable first when that fails.
func forceRemoveAll(p string) error {
	if err := os.RemoveAll(p); err == nil {
		return nil
	}
	makeWritable(p, false)
	return os.RemoveAll(p)
}
