// Package workspace gives pipeline nodes git checkouts of a run's repository.
//
// A worker has one Manager. It keeps, under Options.Dir, a bare mirror of
// every repository it has used (an object cache, fetched only when a needed
// commit is missing) and the checkouts of the nodes it runs (git worktrees of
// the mirror; removed checkouts are kept in a small per-mirror pool and
// reset exactly to the next caller's base, which rewrites only the files
// that differ). A node checks out its base — the merge of its dependencies'
// commits — commits what it changed, and pushes the commit to the remote as a
// ref; workers share nothing but the remote.
//
// Everything runs the git CLI (version 2.30 or later) as argv, never a shell.
// Operations that change a mirror (fetch, worktree add/remove/prune) are
// serialized per mirror with an in-process lock and an flock on
// Dir/mirrors/<key>.lock, so several goroutines and several processes can
// share a Dir.
package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors returned (wrapped) by this package; match them with errors.Is.
var (
	// ErrGitMissing: the git executable was not found or does not run.
	ErrGitMissing = errors.New("git not found")
	// ErrGitTooOld: git is older than MinGitVersion.
	ErrGitTooOld = errors.New("git too old")
	// ErrUnknownRef: a ref or commit does not exist in the repository.
	ErrUnknownRef = errors.New("unknown ref")
	// ErrInvalidRepo: a repository location is malformed or not allowed
	// (relative path, leading "-", unsupported transport).
	ErrInvalidRepo = errors.New("invalid repository location")
	// ErrInvalidRef: a ref name, SHA or trailer is malformed.
	ErrInvalidRef = errors.New("invalid ref")
	// ErrNotEmpty: Init was given a path that exists and is not empty.
	ErrNotEmpty = errors.New("path exists and is not empty")
)

// MinGitVersion is the oldest git New accepts.
const MinGitVersion = "2.30"

// Options configures a Manager.
type Options struct {
	// Dir is the root directory: mirrors live in Dir/mirrors/<sha256 of the
	// redacted repo URL>.git and checkouts in Dir/checkouts/. Required.
	Dir string
	// Env is the environment for git (the worker's: credentials come from it
	// and from git config). nil means os.Environ(). Variables that would
	// redirect git (GIT_DIR, GIT_INDEX_FILE, ...) and askpass programs are
	// removed; GIT_TERMINAL_PROMPT=0 is added.
	Env []string
	// Logger receives a debug record per git command (URLs redacted). nil
	// discards.
	Logger *slog.Logger
	// GitPath is the git executable; default "git" looked up in PATH.
	GitPath string
}

// Manager runs git for one worker: mirrors (object caches) and checkouts live
// under Options.Dir. It is safe for concurrent use.
type Manager struct {
	r        runner
	dir      string
	mirrors  string
	checkout string
	version  string

	mu     sync.Mutex
	sems   map[string]chan struct{} // per mirror key: the in-process lock
	idle   map[string][]*idle       // per mirror path: pooled worktrees
	closed bool                     // Close was called: pool no more
}

// mirror is one repository's bare object cache, as named by one call (repo
// as that caller gave it, credentials included); calls naming the same
// repository share sem.
type mirror struct {
	repo string // as given (may hold credentials; never logged)
	path string // Dir/mirrors/<key>.git
	lock string // Dir/mirrors/<key>.lock
	sem  chan struct{}
}

// New checks that git exists and is at least MinGitVersion (errors wrap
// ErrGitMissing or ErrGitTooOld, the latter naming the version found) and
// creates Dir/mirrors and Dir/checkouts.
func New(ctx context.Context, o Options) (*Manager, error) {
	if o.Dir == "" {
		return nil, errors.New("workspace: Options.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	env := o.Env
	if env == nil {
		env = osEnviron()
	}
	log := o.Logger
	if log == nil {
		log = discardLogger
	}
	r, version, err := newRunner(ctx, o.GitPath, env, log)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		r:        r,
		dir:      dir,
		mirrors:  filepath.Join(dir, "mirrors"),
		checkout: filepath.Join(dir, "checkouts"),
		version:  version,
		sems:     map[string]chan struct{}{},
		idle:     map[string][]*idle{},
	}
	for _, d := range []string{m.mirrors, m.checkout} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
	}
	return m, nil
}

// GitVersion returns the version of git the Manager runs, e.g. "2.39.5".
func (m *Manager) GitVersion() string { return m.version }

// CheckGit checks, as New does, that git (gitPath, default "git" from
// PATH) runs and is at least MinGitVersion, and returns its version; errors
// wrap ErrGitMissing or ErrGitTooOld. It creates nothing.
func CheckGit(ctx context.Context, gitPath string) (string, error) {
	_, version, err := newRunner(ctx, gitPath, osEnviron(), discardLogger)
	return version, err
}

var versionRE = regexp.MustCompile(`(\d+)\.(\d+)(\.\d+)?`)

func newRunner(ctx context.Context, gitPath string, env []string, log *slog.Logger) (runner, string, error) {
	if gitPath == "" {
		gitPath = "git"
	}
	path, err := exec.LookPath(gitPath)
	if err != nil {
		return runner{}, "", fmt.Errorf("workspace: %w: %q: %v", ErrGitMissing, gitPath, err)
	}
	r := runner{bin: path, env: sanitizeEnv(env), log: log}
	out, err := r.git(ctx, "", "version")
	if err != nil {
		return runner{}, "", fmt.Errorf("workspace: %w: %s: %v", ErrGitMissing, path, err)
	}
	mv := versionRE.FindStringSubmatch(out)
	if mv == nil {
		return runner{}, "", fmt.Errorf("workspace: %w: cannot parse %q", ErrGitMissing, out)
	}
	major, _ := strconv.Atoi(mv[1])
	minor, _ := strconv.Atoi(mv[2])
	if major < 2 || (major == 2 && minor < 30) {
		return runner{}, "", fmt.Errorf("workspace: %w: found %s, need %s or later", ErrGitTooOld, mv[0], MinGitVersion)
	}
	return r, mv[0], nil
}

// --- validation ---

var (
	hexRE      = regexp.MustCompile(`^[0-9a-f]{4,64}$`)
	fullSHARE  = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	schemeRE   = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)
	scpRE      = regexp.MustCompile(`^(?:[A-Za-z0-9._~-]+@)?([A-Za-z0-9_][A-Za-z0-9_.-]*|\[[0-9A-Fa-f:.]+\]):([^/].*|/.+)$`)
	allowedURL = map[string]bool{"https": true, "http": true, "ssh": true, "git+ssh": true, "ssh+git": true, "git": true, "file": true}
)

// checkRepo validates a repository location: an absolute local path, a
// file://, ssh://, git://, http(s):// URL, or scp-like [user@]host:path.
func checkRepo(repo string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %q: %s", ErrInvalidRepo, Redact(repo), why)
	}
	switch {
	case repo == "":
		return bad("empty")
	case strings.HasPrefix(repo, "-"):
		return bad("starts with '-'")
	case strings.ContainsAny(repo, "\x00\n\r\t"):
		return bad("contains control characters")
	}
	if m := schemeRE.FindStringSubmatch(repo); m != nil {
		if !allowedURL[strings.ToLower(m[1])] {
			return bad("unsupported scheme " + m[1])
		}
		u, err := url.Parse(repo)
		if err != nil {
			return bad("not a URL")
		}
		if strings.HasPrefix(u.Hostname(), "-") || strings.HasPrefix(u.Path, "-") {
			return bad("host or path starts with '-'")
		}
		if strings.ToLower(m[1]) != "file" && u.Host == "" {
			return bad("no host")
		}
		return nil
	}
	if strings.Contains(repo, "::") {
		return bad("transport::address forms are not allowed")
	}
	if filepath.IsAbs(repo) {
		return nil
	}
	if m := scpRE.FindStringSubmatch(repo); m != nil && !strings.Contains(strings.SplitN(repo, ":", 2)[0], "/") {
		return nil
	}
	return bad("not an absolute path, URL or host:path")
}

// checkRefName validates a ref name with (conservatively) the rules of
// git check-ref-format.
func checkRefName(ref string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %q: %s", ErrInvalidRef, ref, why) }
	switch {
	case ref == "":
		return bad("empty")
	case strings.HasPrefix(ref, "-"):
		return bad("starts with '-'")
	case ref == "@":
		return bad("is '@'")
	case strings.Contains(ref, ".."), strings.Contains(ref, "@{"), strings.Contains(ref, "//"):
		return bad("contains '..', '@{' or '//'")
	case strings.HasSuffix(ref, "/"), strings.HasSuffix(ref, "."), strings.HasPrefix(ref, "/"):
		return bad("begins with '/' or ends with '/' or '.'")
	}
	for _, c := range ref {
		if c < 0x20 || c == 0x7f || strings.ContainsRune(" ~^:?*[\\", c) {
			return bad("contains a forbidden character")
		}
	}
	for _, comp := range strings.Split(ref, "/") {
		if strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".lock") {
			return bad("a component begins with '.' or ends with '.lock'")
		}
	}
	return nil
}

// checkSHA validates a full commit SHA (SHA-1 or SHA-256, lower-case hex).
func checkSHA(sha string) error {
	if !fullSHARE.MatchString(sha) {
		return fmt.Errorf("%w: %q is not a full commit SHA", ErrInvalidRef, sha)
	}
	return nil
}

// --- mirrors and locks ---

func (m *Manager) mirror(repo string) (*mirror, error) {
	if err := checkRepo(repo); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(Redact(repo)))
	key := hex.EncodeToString(sum[:])
	m.mu.Lock()
	sem := m.sems[key]
	if sem == nil {
		sem = make(chan struct{}, 1)
		m.sems[key] = sem
	}
	m.mu.Unlock()
	mir := &mirror{
		repo: repo,
		path: filepath.Join(m.mirrors, key+".git"),
		lock: filepath.Join(m.mirrors, key+".lock"),
		sem:  sem,
	}
	return mir, nil
}

// lockMirror serializes mirror-mutating operations: in-process with the
// mirror's semaphore, between processes with an flock on its lock file.
func (m *Manager) lockMirror(ctx context.Context, mir *mirror) (func(), error) {
	select {
	case mir.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	f, err := lockPath(ctx, mir.lock)
	if err != nil {
		<-mir.sem
		return nil, err
	}
	if err := resetConfig(mir); err != nil {
		f.Close()
		<-mir.sem
		return nil, err
	}
	return func() {
		f.Close() // releases the flock
		<-mir.sem
	}, nil
}

// lockPath opens (creating) path and takes an exclusive flock on it, polling
// until ctx ends. Closing the file releases the lock.
func lockPath(ctx context.Context, path string) (*os.File, error) {
	delay := 2 * time.Millisecond
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("workspace: lock: %w", err)
		}
		ok, err := tryLockFile(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("workspace: lock %s: %w", path, err)
		}
		if ok {
			// The file may have been removed (Sweep) between open and lock:
			// only a lock on the file still at path counts.
			if same(f, path) {
				return f, nil
			}
			f.Close()
			continue
		}
		f.Close()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		if delay < 50*time.Millisecond {
			delay *= 2
		}
	}
}

func same(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// mirrorConfig is a mirror's whole git configuration. Checkouts are
// worktrees of the mirror and share it, so a program run in one (a command
// node, an agent's run tool) could add a credential helper, an ssh command
// or a URL rewrite that the worker's own fetches and pushes would then
// obey: lockMirror puts this content back before every such operation.
const mirrorConfig = `[core]
	repositoryformatversion = 0
	filemode = true
	bare = true
	autocrlf = false
	logAllRefUpdates = false
[gc]
	auto = 0
[maintenance]
	auto = false
[fetch]
	prune = false
`

// resetConfig puts the mirror's configuration back to mirrorConfig when
// anything changed it. Call with the mirror locked.
func resetConfig(mir *mirror) error {
	path := filepath.Join(mir.path, "config")
	cur, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && string(cur) == mirrorConfig) {
		return nil // no mirror yet, or as it should be
	}
	tmp := path + ".maestro-tmp"
	if err := os.WriteFile(tmp, []byte(mirrorConfig), 0o644); err != nil {
		return fmt.Errorf("workspace: reset the mirror's config: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("workspace: reset the mirror's config: %w", err)
	}
	return nil
}

// ensureMirror creates the mirror if it does not exist. Call with the mirror
// locked.
func (m *Manager) ensureMirror(ctx context.Context, mir *mirror) error {
	if _, err := os.Stat(filepath.Join(mir.path, "HEAD")); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(m.mirrors, "init-*.git")
	if err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	defer os.RemoveAll(tmp)
	if _, err := m.r.git(ctx, "", "init", "--bare", "--quiet", "--", tmp); err != nil {
		return fmt.Errorf("workspace: create mirror of %s: %w", Redact(mir.repo), err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "config"), []byte(mirrorConfig), 0o644); err != nil {
		return fmt.Errorf("workspace: configure mirror: %w", err)
	}
	os.RemoveAll(mir.path) // a half-made mirror from a crash
	if err := os.Rename(tmp, mir.path); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	return nil
}

// hasCommit reports whether the mirror holds commit sha (or commit-ish).
func (m *Manager) hasCommit(ctx context.Context, mir *mirror, sha string) bool {
	if _, err := os.Stat(filepath.Join(mir.path, "HEAD")); err != nil {
		return false
	}
	_, err := m.r.git(ctx, mir.path, "cat-file", "-e", sha+"^{commit}")
	return err == nil
}

var fetchRefspecs = []string{
	"+refs/heads/*:refs/heads/*",
	"+refs/tags/*:refs/tags/*",
	"+refs/maestro/*:refs/maestro/*",
}

// fetch fetches the remote's branches, tags and maestro refs (and extra
// refspecs, if any, instead) into the mirror. Call with the mirror locked.
func (m *Manager) fetch(ctx context.Context, mir *mirror, refspecs ...string) error {
	if len(refspecs) == 0 {
		refspecs = fetchRefspecs
	}
	args := []string{"fetch", "--quiet", "--no-tags", "--no-prune", "--no-write-fetch-head",
		"--no-auto-gc", "--no-recurse-submodules", "--update-head-ok", "--", mir.repo}
	if _, err := m.r.git(ctx, mir.path, append(args, refspecs...)...); err != nil {
		return fmt.Errorf("workspace: fetch %s: %w", Redact(mir.repo), err)
	}
	return nil
}

// ensureCommits makes sure the mirror exists and holds every sha, fetching
// the remote's refs and then, for commits still missing, the SHAs themselves.
// Missing commits give an error wrapping ErrUnknownRef.
func (m *Manager) ensureCommits(ctx context.Context, mir *mirror, shas ...string) error {
	missing := func() []string {
		var out []string
		for _, s := range shas {
			if !m.hasCommit(ctx, mir, s) {
				out = append(out, s)
			}
		}
		return out
	}
	if len(missing()) == 0 {
		return nil
	}
	unlock, err := m.lockMirror(ctx, mir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := m.ensureMirror(ctx, mir); err != nil {
		return err
	}
	if len(missing()) == 0 { // another goroutine or process fetched it
		return nil
	}
	if err := m.fetch(ctx, mir); err != nil {
		return err
	}
	miss := missing()
	if len(miss) == 0 {
		return nil
	}
	// The commits may be unreachable from the remote's refs; ask for them
	// by SHA (servers allow this with protocol v2 or allowAnySHA1InWant).
	_ = m.fetch(ctx, mir, miss...)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if miss = missing(); len(miss) > 0 {
		return fmt.Errorf("workspace: %w: commit %s not in %s", ErrUnknownRef, strings.Join(miss, ", "), Redact(mir.repo))
	}
	return nil
}

// Resolve fetches repo into its mirror and returns the commit SHA that ref
// names: a branch, a tag, a full ref ("refs/..."), or a full or abbreviated
// SHA. Branches win over tags of the same name. A full SHA already in the
// mirror costs no fetch. An unknown ref gives an error wrapping ErrUnknownRef
// that names the ref.
func (m *Manager) Resolve(ctx context.Context, repo, ref string) (string, error) {
	mir, err := m.mirror(repo)
	if err != nil {
		return "", err
	}
	if err := checkRefName(ref); err != nil {
		return "", err
	}
	isHex := hexRE.MatchString(ref)
	if fullSHARE.MatchString(ref) && m.hasCommit(ctx, mir, ref) {
		return ref, nil
	}
	unlock, err := m.lockMirror(ctx, mir)
	if err != nil {
		return "", err
	}
	err = m.ensureMirror(ctx, mir)
	if err == nil {
		err = m.fetch(ctx, mir)
	}
	if err == nil && fullSHARE.MatchString(ref) && !m.hasCommit(ctx, mir, ref) {
		_ = m.fetch(ctx, mir, ref)
	}
	unlock()
	if err != nil {
		return "", err
	}
	if ref == "HEAD" {
		return m.remoteHEAD(ctx, mir)
	}
	cands := []string{"refs/heads/" + ref, "refs/tags/" + ref}
	if strings.HasPrefix(ref, "refs/") {
		cands = []string{ref}
	}
	if isHex {
		cands = append(cands, ref)
	}
	for _, c := range cands {
		out, err := m.r.git(ctx, mir.path, "rev-parse", "--verify", "--quiet", "--end-of-options", c+"^{commit}")
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
	return "", fmt.Errorf("workspace: %w: %q in %s", ErrUnknownRef, ref, Redact(repo))
}

// remoteHEAD resolves the remote's HEAD (its default branch), fetched
// into the mirror already.
func (m *Manager) remoteHEAD(ctx context.Context, mir *mirror) (string, error) {
	out, err := m.r.git(ctx, mir.path, "ls-remote", "--", mir.repo, "HEAD")
	if err != nil {
		return "", fmt.Errorf("workspace: resolve HEAD of %s: %w", Redact(mir.repo), err)
	}
	for _, line := range strings.Split(out, "\n") {
		sha, name, _ := strings.Cut(line, "\t")
		if name == "HEAD" && m.hasCommit(ctx, mir, sha) {
			return sha, nil
		}
	}
	return "", fmt.Errorf("workspace: %w: \"HEAD\" in %s (the repository has no default branch; name a ref)", ErrUnknownRef, Redact(mir.repo))
}

// ErrNotFastForward: a branch push was refused because the branch holds
// commits the pushed commit does not contain.
var ErrNotFastForward = errors.New("the branch moved: not a fast-forward")

// Push pushes commit sha to ref (a full ref name such as
// "refs/maestro/<workflow>/<node>") on repo, forcing the update. The commit
// must be in the mirror (made in one of its checkouts) or fetchable from
// repo.
func (m *Manager) Push(ctx context.Context, repo, sha, ref string) error {
	return m.push(ctx, repo, sha, ref, true)
}

// PushBranch pushes commit sha to refs/heads/<branch> on repo only as a
// fast-forward: a branch that holds commits sha does not contain is left
// as it is, and the error wraps ErrNotFastForward. A run cannot overwrite
// work others pushed.
func (m *Manager) PushBranch(ctx context.Context, repo, sha, branch string) error {
	return m.push(ctx, repo, sha, "refs/heads/"+branch, false)
}

func (m *Manager) push(ctx context.Context, repo, sha, ref string, force bool) error {
	mir, err := m.mirror(repo)
	if err != nil {
		return err
	}
	if err := checkSHA(sha); err != nil {
		return err
	}
	if err := checkRefName(ref); err != nil {
		return err
	}
	if !strings.HasPrefix(ref, "refs/") {
		return fmt.Errorf("workspace: %w: %q is not a full ref (refs/...)", ErrInvalidRef, ref)
	}
	if err := m.ensureCommits(ctx, mir, sha); err != nil {
		return err
	}
	spec := sha + ":" + ref
	if force {
		spec = "+" + spec
	}
	unlock, err := m.lockMirror(ctx, mir)
	if err != nil {
		return err
	}
	defer unlock()
	out, err := m.r.git(ctx, mir.path, "push", "--quiet", "--no-verify", "--porcelain", "--", mir.repo, spec)
	if err != nil {
		var ge *GitError
		if !force && (strings.Contains(out, "[rejected]") || (errors.As(err, &ge) &&
			(strings.Contains(ge.Stderr, "non-fast-forward") || strings.Contains(ge.Stderr, "[rejected]") || strings.Contains(ge.Stderr, "fetch first")))) {
			return fmt.Errorf("workspace: push %s to %s %s: %w", sha, Redact(repo), ref, ErrNotFastForward)
		}
		return fmt.Errorf("workspace: push %s to %s %s: %w", sha, Redact(repo), ref, err)
	}
	return nil
}

// emptyTree is the SHA-1 of the empty tree.
const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

// Diff returns the unified diff from..to in repo, computed in the mirror
// (commits missing from it are fetched). from may be "" for to's first parent
// (the empty tree for a root commit). The diff is cut at max bytes (max <= 0:
// no cap) and truncated reports whether it was.
func (m *Manager) Diff(ctx context.Context, repo, from, to string, max int) (string, bool, error) {
	mir, err := m.mirror(repo)
	if err != nil {
		return "", false, err
	}
	if err := checkSHA(to); err != nil {
		return "", false, err
	}
	need := []string{to}
	if from != "" {
		if err := checkSHA(from); err != nil {
			return "", false, err
		}
		need = append(need, from)
	}
	if err := m.ensureCommits(ctx, mir, need...); err != nil {
		return "", false, err
	}
	if from == "" {
		out, err := m.r.git(ctx, mir.path, "rev-parse", "--verify", "--quiet", to+"^1")
		switch {
		case err == nil:
			from = out
		case exitCode(err) == 1:
			from = emptyTree
		default:
			return "", false, fmt.Errorf("workspace: diff: %w", err)
		}
	}
	w := &cappedWriter{max: max}
	if max <= 0 {
		w.max = int(^uint(0) >> 1)
	}
	_, err = m.r.run(ctx, call{dir: mir.path, stdout: w}, "diff", "--no-color", "--no-ext-diff",
		"--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", from, to, "--")
	if err != nil && !w.truncated {
		return "", false, fmt.Errorf("workspace: diff: %w", err)
	}
	return w.buf.String(), w.truncated, nil
}

// Sweep removes checkouts left under Dir/checkouts by processes that are gone,
// pooled idle ones included (a live checkout, handed out or idle in its
// Manager's pool, holds an flock on Dir/checkouts/<id>.lock, so checkouts of
// live processes sharing Dir, this one included, are kept), and prunes the
// worktree metadata of every mirror. Call it at worker start: a restarted
// worker starts with an empty pool.
func (m *Manager) Sweep(ctx context.Context) error {
	ents, err := os.ReadDir(m.checkout)
	if err != nil {
		return fmt.Errorf("workspace: sweep: %w", err)
	}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".lock") {
			if _, err := os.Lstat(filepath.Join(m.checkout, strings.TrimSuffix(name, ".lock"))); err == nil {
				continue // handled with its directory
			}
		}
		id := strings.TrimSuffix(name, ".lock")
		lockFile := filepath.Join(m.checkout, id+".lock")
		f, err := os.OpenFile(lockFile, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ok, err := tryLockFile(f)
		if err != nil || !ok {
			f.Close() // in use by a live process (or unlockable)
			continue
		}
		if err := os.RemoveAll(filepath.Join(m.checkout, id)); err != nil {
			errs = append(errs, err)
		}
		os.Remove(lockFile)
		f.Close()
		m.r.log.Info("workspace: swept stale checkout", slog.String("id", id))
	}
	mirs, err := os.ReadDir(m.mirrors)
	if err != nil {
		return fmt.Errorf("workspace: sweep: %w", err)
	}
	for _, e := range mirs {
		name := e.Name()
		if !e.IsDir() || !strings.HasSuffix(name, ".git") {
			continue
		}
		if strings.HasPrefix(name, "init-") {
			// A crashed mirror creation (old enough not to be in progress).
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
				os.RemoveAll(filepath.Join(m.mirrors, name))
			}
			continue
		}
		key := strings.TrimSuffix(name, ".git")
		m.mu.Lock()
		sem := m.sems[key]
		if sem == nil {
			sem = make(chan struct{}, 1)
			m.sems[key] = sem
		}
		m.mu.Unlock()
		mir := &mirror{path: filepath.Join(m.mirrors, name), lock: filepath.Join(m.mirrors, key+".lock"), sem: sem}
		unlock, err := m.lockMirror(ctx, mir)
		if err != nil {
			return err
		}
		err = m.pruneWorktrees(ctx, mir)
		unlock()
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("workspace: sweep: %w", err)
	}
	return nil
}

// pruneWorktrees removes the mirror's metadata of worktrees under
// Dir/checkouts whose directory is gone — including ones a killed
// `git worktree add` left "locked initializing", which git worktree prune
// keeps — and then runs git worktree prune. Call with the mirror locked.
func (m *Manager) pruneWorktrees(ctx context.Context, mir *mirror) error {
	admin := filepath.Join(mir.path, "worktrees")
	ours := map[string]bool{m.checkout: true}
	if real, err := filepath.EvalSymlinks(m.checkout); err == nil {
		ours[real] = true // git may record the resolved path
	}
	ents, _ := os.ReadDir(admin)
	for _, e := range ents {
		dir := filepath.Join(admin, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, "gitdir"))
		wt := filepath.Dir(strings.TrimSpace(string(b)))
		if err == nil && !ours[filepath.Dir(wt)] {
			continue // not one of ours
		}
		if _, serr := os.Stat(wt); err == nil && serr == nil {
			continue // alive
		}
		if rerr := os.RemoveAll(dir); rerr != nil {
			return fmt.Errorf("workspace: prune worktrees: %w", rerr)
		}
	}
	if _, err := m.r.git(ctx, mir.path, "worktree", "prune"); err != nil {
		return fmt.Errorf("workspace: prune worktrees: %w", err)
	}
	return nil
}
