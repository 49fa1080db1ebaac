package workspace

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Identity is the author and committer of the commits the package makes.
// Empty fields default to DefaultIdentity's.
type Identity struct {
	Name, Email string
}

// DefaultIdentity is used for empty Identity fields.
var DefaultIdentity = Identity{Name: "Maestro", Email: "maestro@localhost"}

func (id Identity) orDefault() Identity {
	if strings.TrimSpace(id.Name) == "" {
		id.Name = DefaultIdentity.Name
	}
	if strings.TrimSpace(id.Email) == "" {
		id.Email = DefaultIdentity.Email
	}
	return id
}

// commitEnv is the environment that makes a commit's author and committer
// (and so, given the same tree, parents and message, its SHA) deterministic.
// A zero date means now.
func commitEnv(id Identity, date time.Time) []string {
	id = id.orDefault()
	if date.IsZero() {
		date = time.Now()
	}
	d := fmt.Sprintf("@%d %s", date.Unix(), date.Format("-0700"))
	return []string{
		"GIT_AUTHOR_NAME=" + id.Name, "GIT_AUTHOR_EMAIL=" + id.Email, "GIT_AUTHOR_DATE=" + d,
		"GIT_COMMITTER_NAME=" + id.Name, "GIT_COMMITTER_EMAIL=" + id.Email, "GIT_COMMITTER_DATE=" + d,
	}
}

// CheckoutOptions says what to check out.
type CheckoutOptions struct {
	// Bases are full commit SHAs: the checkout starts at Bases[0] and
	// merges Bases[1:] into it in order. At least one is required.
	Bases []string
	// Identity and Date are the author and committer of the merge commits;
	// two checkouts of the same Bases with the same Identity, Date and
	// MergeMessage make the same merge commits. A zero Date means now.
	Identity Identity
	Date     time.Time
	// MergeMessage is the message of every merge commit; default
	// "Merge <first 12 hex digits of the merged base>".
	MergeMessage string
}

// MergeConflictError is returned by Checkout when merging the bases
// conflicts. No checkout is handed out: the worktree goes back to the idle
// pool (it is reset before any reuse) or is deleted.
type MergeConflictError struct {
	// Files are the unmerged paths, sorted.
	Files []string
	// Base is the commit merged into (the checkout's HEAD at the time) and
	// Merging the base that conflicted with it.
	Base, Merging string
}

// Error implements error.
func (e *MergeConflictError) Error() string {
	return fmt.Sprintf("workspace: merging %s into %s conflicts in %s", short(e.Merging), short(e.Base), strings.Join(e.Files, ", "))
}

// Checkout is a git worktree of a repository's mirror, detached at its base.
// Callers run what they like inside Path, then Commit, then Remove.
type Checkout struct {
	m    *Manager
	mir  *mirror
	id   string
	path string
	base string
	lock *os.File // flock held while the checkout lives or is pooled (see Sweep)
	// gitFile is the content of path/.git as git wrote it; a pooled
	// worktree whose .git differs is not reused.
	gitFile string

	mu        sync.Mutex
	removed   bool
	removeErr error
}

// Path returns the checkout's directory.
func (c *Checkout) Path() string { return c.path }

// Base returns the SHA of the checkout's HEAD after the merges (Bases[0] when
// there was one base). Commit diffs against it.
func (c *Checkout) Base() string { return c.base }

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// Checkout gives the caller a checkout of o.Bases[0] under Dir/checkouts and
// merges o.Bases[1:] into it in order with `git merge --no-ff`. Bases missing
// from the mirror are fetched.
//
// The checkout is an idle worktree of repo's mirror from the Manager's pool
// when there is one (see Remove), reset to the base: `git checkout --detach
// --force`, `git clean -ffdx`, then verified — HEAD detached at the base,
// `git status` with ignored and untracked files empty, no merge or rebase
// state, no assume-unchanged or skip-worktree index entries; read-only files
// and directories are made owner-writable first. A pooled worktree that fails
// any of this is deleted and a fresh one made with `git worktree add
// --detach`. Either way the working tree is exactly the base's.
//
// A merge conflict returns a *MergeConflictError; on any error (including
// ctx ending) no checkout is handed out and nothing but idle pooled
// worktrees is left under Dir/checkouts.
func (m *Manager) Checkout(ctx context.Context, repo string, o CheckoutOptions) (_ *Checkout, err error) {
	mir, err := m.mirror(repo)
	if err != nil {
		return nil, err
	}
	if len(o.Bases) == 0 {
		return nil, fmt.Errorf("workspace: %w: checkout needs at least one base", ErrInvalidRef)
	}
	for _, b := range o.Bases {
		if err := checkSHA(b); err != nil {
			return nil, err
		}
	}
	if err := m.ensureCommits(ctx, mir, o.Bases...); err != nil {
		return nil, err
	}
	if len(o.Bases) > 1 {
		// A base that another base already contains adds nothing: merge
		// only the independent ones, in the order given.
		if o.Bases, err = m.independent(ctx, mir, o.Bases); err != nil {
			return nil, err
		}
	}
	c, err := m.reuse(ctx, mir, o.Bases[0])
	if err != nil {
		return nil, err
	}
	if c == nil {
		if c, err = m.add(ctx, mir, o.Bases[0]); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			// A conflicted worktree is only dirty: the reset before its
			// next use cleans it. Anything else may be half-made.
			var mc *MergeConflictError
			c.release(errors.As(err, &mc))
		}
	}()
	env := commitEnv(o.Identity, o.Date)
	for _, b := range o.Bases[1:] {
		msg := o.MergeMessage
		if msg == "" {
			msg = "Merge " + short(b)
		}
		_, err := m.r.run(ctx, call{dir: c.path, env: env}, "merge", "--no-ff", "--no-edit",
			"--no-verify", "--no-log", "--no-stat", "--quiet", "--cleanup=whitespace", "-m", msg, b)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if files := c.unmerged(ctx); len(files) > 0 {
			return nil, &MergeConflictError{Files: files, Base: c.headOr(ctx, ""), Merging: b}
		}
		return nil, fmt.Errorf("workspace: merge %s: %w", short(b), err)
	}
	if len(o.Bases) > 1 {
		if c.base, err = m.r.git(ctx, c.path, "rev-parse", "--verify", "HEAD"); err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
	}
	return c, nil
}

// add makes a fresh worktree of mir detached at base. On error nothing is
// left.
func (m *Manager) add(ctx context.Context, mir *mirror, base string) (_ *Checkout, err error) {
	var rb [8]byte
	rand.Read(rb[:])
	id := hex.EncodeToString(rb[:])
	c := &Checkout{m: m, mir: mir, id: id, path: filepath.Join(m.checkout, id), base: base}
	c.lock, err = lockPath(ctx, c.path+".lock")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.release(false)
		}
	}()
	unlock, err := m.lockMirror(ctx, mir)
	if err != nil {
		return nil, err
	}
	// checkout.workers=0: parallel checkout on all cores (git >= 2.32;
	// ignored before). Writing the files dominates a node's git time.
	_, err = m.r.git(ctx, mir.path, "-c", "checkout.workers=0", "worktree", "add", "--detach", "--quiet", "--", c.path, base)
	unlock()
	if err != nil {
		return nil, fmt.Errorf("workspace: checkout %s of %s: %w", short(base), Redact(mir.repo), err)
	}
	b, err := os.ReadFile(filepath.Join(c.path, ".git"))
	if err != nil || !strings.HasPrefix(string(b), "gitdir:") {
		return nil, fmt.Errorf("workspace: checkout %s of %s: no .git file: %w", short(base), Redact(mir.repo), errors.Join(err, errNotExact))
	}
	c.gitFile = string(b)
	return c, nil
}

// independent returns the bases no other base contains, each once, in
// their order.
func (m *Manager) independent(ctx context.Context, mir *mirror, bases []string) ([]string, error) {
	out, err := m.r.git(ctx, mir.path, append([]string{"merge-base", "--independent"}, bases...)...)
	if err != nil {
		return nil, fmt.Errorf("workspace: merge-base: %w", err)
	}
	keep := map[string]bool{}
	for _, sha := range strings.Fields(out) {
		keep[sha] = true
	}
	var res []string
	for _, b := range bases {
		if keep[b] {
			res = append(res, b)
			delete(keep, b)
		}
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("workspace: merge-base --independent %v: no result", bases)
	}
	return res, nil
}

func (c *Checkout) unmerged(ctx context.Context) []string {
	out, err := c.m.r.git(ctx, c.path, "diff", "--name-only", "--diff-filter=U", "-z")
	if err != nil {
		return nil
	}
	var files []string
	for _, f := range strings.Split(out, "\x00") {
		if f != "" {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	return files
}

func (c *Checkout) headOr(ctx context.Context, def string) string {
	out, err := c.m.r.git(ctx, c.path, "rev-parse", "--verify", "HEAD")
	if err != nil {
		return def
	}
	return out
}

// Commit is the result of Checkout.Commit.
type Commit struct {
	// SHA is the new commit, or the base when nothing changed.
	SHA string
	// Parents are SHA's parents.
	Parents []string
	// Changed reports whether a commit was made.
	Changed bool
	// Files, Insertions and Deletions are the diffstat against the base
	// (binary files count as files with no lines).
	Files, Insertions, Deletions int
}

var trailerKeyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

// Commit stages everything in the checkout (git add -A) and, when anything
// differs from the base, commits it with message followed by a trailer block
// ("Key: value" lines, in order) as id at date (zero: now). When nothing
// changed it returns the base with Changed false. Commits the caller made in
// the checkout are squashed into this one (the commit's parent is always the
// base).
//
// A branch the caller created in the checkout (git checkout -b) is left
// alone: it lives in the mirror's refs/heads, which every worktree shares and
// which also holds the fetched copies of the remote's branches, so the
// package cannot tell it from those and does not delete it. Later checkouts
// (pooled or fresh alike) list it in `git branch`, and Resolve of its name
// finds it; their HEAD is still detached at their own base.
func (c *Checkout) Commit(ctx context.Context, message string, trailers [][2]string, id Identity, date time.Time) (Commit, error) {
	c.mu.Lock()
	removed := c.removed
	c.mu.Unlock()
	if removed {
		return Commit{}, errors.New("workspace: commit: checkout removed")
	}
	// What ran in the checkout may have configured the shared repository
	// (a clean filter, an fsmonitor...) for git add to run: undo it first.
	if err := resetConfig(c.mir); err != nil {
		return Commit{}, err
	}
	var tb strings.Builder
	for _, t := range trailers {
		if !trailerKeyRE.MatchString(t[0]) || strings.ContainsAny(t[1], "\r\n") {
			return Commit{}, fmt.Errorf("workspace: %w: trailer %q", ErrInvalidRef, t[0]+": "+t[1])
		}
		fmt.Fprintf(&tb, "%s: %s\n", t[0], strings.TrimSpace(t[1]))
	}
	msg := strings.TrimSpace(message)
	if msg == "" {
		msg = "Maestro commit"
	}
	if tb.Len() > 0 {
		msg += "\n\n" + tb.String()
	}
	r := &c.m.r
	if _, err := r.git(ctx, c.path, "add", "-A"); err != nil {
		return Commit{}, fmt.Errorf("workspace: commit: %w", err)
	}
	out, err := r.git(ctx, c.path, "rev-parse", "HEAD", "--symbolic-full-name", "HEAD")
	if err != nil {
		return Commit{}, fmt.Errorf("workspace: commit: %w", err)
	}
	if head := strings.Fields(out); len(head) != 2 || head[0] != c.base || head[1] != "HEAD" {
		// The caller committed or switched to a branch: keep the index and
		// files, detach HEAD at the base (a soft reset that leaves any
		// branch alone), so the commit's parent is the base.
		if _, err := r.git(ctx, c.path, "update-ref", "--no-deref", "-m", "maestro: back to base", "HEAD", c.base); err != nil {
			return Commit{}, fmt.Errorf("workspace: commit: %w", err)
		}
	}
	_, err = r.git(ctx, c.path, "diff", "--cached", "--quiet", "--no-ext-diff")
	changed := exitCode(err) == 1
	if err != nil && !changed {
		return Commit{}, fmt.Errorf("workspace: commit: %w", err)
	}
	if changed {
		if _, err := r.run(ctx, call{dir: c.path, env: commitEnv(id, date)}, "commit", "--quiet",
			"--no-verify", "--no-edit", "--cleanup=whitespace", "-m", msg); err != nil {
			return Commit{}, fmt.Errorf("workspace: commit: %w", err)
		}
	}
	out, err = r.git(ctx, c.path, "log", "-1", "--format=%H %P", "HEAD")
	if err != nil {
		return Commit{}, fmt.Errorf("workspace: commit: %w", err)
	}
	f := strings.Fields(out)
	res := Commit{SHA: f[0], Parents: f[1:], Changed: changed}
	if !changed {
		return res, nil
	}
	stat, err := r.git(ctx, c.path, "diff", "--numstat", "--no-ext-diff", "--find-renames", c.base, res.SHA, "--")
	if err != nil {
		return Commit{}, fmt.Errorf("workspace: commit: diffstat: %w", err)
	}
	st := parseNumstat(stat)
	res.Files, res.Insertions, res.Deletions = st.Files, st.Insertions, st.Deletions
	return res, nil
}

// Remove gives the checkout back: the caller must no longer use Path. The
// worktree goes to the Manager's idle pool for its repository when that holds
// fewer than 4 (a later Checkout resets it to its own base before handing it
// out; see Checkout); otherwise, or after Close, it is deleted (git worktree
// remove --force, falling back to deleting the directory — read-only parts
// included — and pruning the mirror's worktree metadata). It is idempotent
// and does not take a context: it runs even after the caller's context ended,
// bounded by a minute.
func (c *Checkout) Remove() error {
	return c.release(true)
}

// release pools the worktree (pool true, when there is room) or deletes it,
// once.
func (c *Checkout) release(pool bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return c.removeErr
	}
	c.removed = true
	if pool && c.gitFile != "" && c.m.putIdle(&idle{mir: c.mir, id: c.id, path: c.path, gitFile: c.gitFile, lock: c.lock}) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c.removeErr = c.m.deleteWorktree(ctx, c.mir, c.id, c.path, c.lock)
	return c.removeErr
}

// deleteWorktree deletes the worktree at path, its mirror metadata and its
// lock file, releasing lock (which may be nil).
func (m *Manager) deleteWorktree(ctx context.Context, mir *mirror, id, path string, lock *os.File) error {
	var errs []error
	unlock, err := m.lockMirror(ctx, mir)
	if err != nil {
		errs = append(errs, err)
	} else {
		_, werr := m.r.git(ctx, mir.path, "worktree", "remove", "--force", "--force", "--", path)
		if werr != nil {
			if err := forceRemoveAll(path); err != nil {
				errs = append(errs, err)
			}
			if err := m.pruneWorktrees(ctx, mir); err != nil {
				errs = append(errs, err)
			}
		}
		unlock()
	}
	if _, err := os.Lstat(path); err == nil {
		if err := forceRemoveAll(path); err != nil {
			errs = append(errs, err)
		}
	}
	if lock != nil {
		os.Remove(lock.Name())
		lock.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("workspace: remove checkout %s: %w", id, err)
	}
	return nil
}

// Init creates a bare repository at path (a local directory that must not
// exist or be empty; else an error wrapping ErrNotEmpty) holding one commit,
// a README.md saying it was made by Maestro, on branch "main" (also HEAD),
// and returns that commit's SHA. gitPath "" means "git" from PATH; git runs
// with the process environment (sanitized as for a Manager).
func Init(ctx context.Context, gitPath, path string) (string, error) {
	if !filepath.IsAbs(path) {
		return "", fmt.Errorf("workspace: init: %w: %q is not an absolute path", ErrInvalidRepo, path)
	}
	if ents, err := os.ReadDir(path); err == nil && len(ents) > 0 {
		return "", fmt.Errorf("workspace: init %s: %w", path, ErrNotEmpty)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("workspace: init: %w", err)
	}
	r, _, err := newRunner(ctx, gitPath, osEnviron(), discardLogger)
	if err != nil {
		return "", err
	}
	fail := func(err error) (string, error) { return "", fmt.Errorf("workspace: init %s: %w", path, err) }
	if _, err := r.git(ctx, "", "init", "--bare", "--quiet", "--", path); err != nil {
		return fail(err)
	}
	readme := "# Repository\n\nCreated by Maestro.\n"
	blob, err := r.run(ctx, call{dir: path, stdin: strings.NewReader(readme)}, "hash-object", "-w", "--stdin")
	if err != nil {
		return fail(err)
	}
	tree, err := r.run(ctx, call{dir: path, stdin: strings.NewReader("100644 blob " + blob + "\tREADME.md\n")}, "mktree")
	if err != nil {
		return fail(err)
	}
	commit, err := r.run(ctx, call{dir: path, env: commitEnv(Identity{}, time.Time{})}, "commit-tree", "-m", "Initial commit (created by Maestro)", tree)
	if err != nil {
		return fail(err)
	}
	if _, err := r.git(ctx, path, "update-ref", "refs/heads/main", commit); err != nil {
		return fail(err)
	}
	if _, err := r.git(ctx, path, "symbolic-ref", "HEAD", "refs/heads/main"); err != nil {
		return fail(err)
	}
	return commit, nil
}
