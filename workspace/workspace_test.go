package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// --- helpers ---

func newRemote(t testing.TB) (string, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "remote.git")
	sha, err := Init(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, sha
}

func newManager(t testing.TB) *Manager {
	t.Helper()
	m, err := New(context.Background(), Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// gitT runs plain git (not through the package) for assertions.
func gitT(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func writeFiles(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var fixedDate = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// commitOn checks out base, writes files, commits, pushes to ref and removes
// the checkout; it returns the commit.
func commitOn(t testing.TB, m *Manager, repo, base string, files map[string]string, ref string) string {
	t.Helper()
	ctx := context.Background()
	c, err := m.Checkout(ctx, repo, CheckoutOptions{Bases: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Remove()
	writeFiles(t, c.Path(), files)
	res, err := c.Commit(ctx, "change "+ref, nil, Identity{}, fixedDate)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Push(ctx, repo, res.SHA, ref); err != nil {
		t.Fatal(err)
	}
	return res.SHA
}

// checkoutsLeft lists what is under Dir/checkouts besides m's idle pooled
// worktrees (and their lock files), after checking that every idle worktree
// is still a worktree of its mirror.
func checkoutsLeft(t testing.TB, m *Manager) []string {
	t.Helper()
	pooled := map[string]bool{}
	m.mu.Lock()
	for _, l := range m.idle {
		if len(l) > maxIdle {
			t.Errorf("%d idle worktrees for one mirror, max %d", len(l), maxIdle)
		}
		for _, w := range l {
			pooled[w.id], pooled[w.id+".lock"] = true, true
			if _, err := os.Stat(filepath.Join(w.path, ".git")); err != nil {
				t.Errorf("idle worktree %s: %v", w.id, err)
			}
		}
	}
	m.mu.Unlock()
	ents, err := os.ReadDir(m.checkout)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if !pooled[e.Name()] {
			names = append(names, e.Name())
		}
	}
	return names
}

// closeLeavesNothing closes the Managers (sharing one Dir) and checks that
// nothing is left under Dir/checkouts nor in repo's worktree metadata.
func closeLeavesNothing(t testing.TB, repo string, ms ...*Manager) {
	t.Helper()
	for _, m := range ms {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir(ms[0].checkout)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("left behind after Close: %v", names)
	}
	if wt := worktrees(t, ms[0], repo); strings.Count(wt, "worktree ") != 1 {
		t.Fatalf("worktree metadata left after Close: %s", wt)
	}
}

func worktrees(t testing.TB, m *Manager, repo string) string {
	t.Helper()
	mir, err := m.mirror(repo)
	if err != nil {
		t.Fatal(err)
	}
	return gitT(t, mir.path, "worktree", "list", "--porcelain")
}

// --- tests ---

func TestNewGitChecks(t *testing.T) {
	ctx := context.Background()
	_, err := New(ctx, Options{Dir: t.TempDir(), GitPath: "/nonexistent/git"})
	if !errors.Is(err, ErrGitMissing) {
		t.Fatalf("missing git: got %v, want ErrGitMissing", err)
	}
	old := filepath.Join(t.TempDir(), "oldgit")
	if err := os.WriteFile(old, []byte("#!/bin/sh\necho 'git version 2.20.1'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = New(ctx, Options{Dir: t.TempDir(), GitPath: old})
	if !errors.Is(err, ErrGitTooOld) || !strings.Contains(err.Error(), "2.20.1") {
		t.Fatalf("old git: got %v, want ErrGitTooOld naming 2.20.1", err)
	}
	m := newManager(t)
	if m.GitVersion() == "" {
		t.Fatal("no version")
	}
}

func TestInitAndResolve(t *testing.T) {
	ctx := context.Background()
	remote, initial := newRemote(t)
	if got := gitT(t, remote, "symbolic-ref", "HEAD"); got != "refs/heads/main" {
		t.Fatalf("HEAD = %s", got)
	}
	if got := gitT(t, remote, "show", "main:README.md"); !strings.Contains(got, "Maestro") {
		t.Fatalf("README = %q", got)
	}
	if _, err := Init(ctx, "", remote); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("Init on non-empty: %v", err)
	}
	m := newManager(t)
	second := commitOn(t, m, remote, initial, map[string]string{"a.txt": "a\n"}, "refs/heads/feature")
	gitT(t, remote, "tag", "v1", initial)

	for _, tc := range []struct{ ref, want string }{
		{"main", initial},
		{"feature", second},
		{"refs/heads/feature", second},
		{"v1", initial},
		{initial, initial},
		{second[:7], second},
	} {
		got, err := m.Resolve(ctx, remote, tc.ref)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.ref, got, err, tc.want)
		}
	}
	for _, ref := range []string{"nope", "refs/heads/nope", strings.Repeat("e", 40)} {
		_, err := m.Resolve(ctx, remote, ref)
		if !errors.Is(err, ErrUnknownRef) || !strings.Contains(err.Error(), ref) {
			t.Errorf("Resolve(%q): got %v, want ErrUnknownRef naming it", ref, err)
		}
	}
	for _, ref := range []string{"-x", "a..b", "a b", "x^{tree}", ""} {
		if _, err := m.Resolve(ctx, remote, ref); !errors.Is(err, ErrInvalidRef) {
			t.Errorf("Resolve(%q): got %v, want ErrInvalidRef", ref, err)
		}
	}
}

func TestCheckoutCommitPush(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)

	c, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Base() != base {
		t.Fatalf("Base = %s, want %s", c.Base(), base)
	}
	if _, err := os.Stat(filepath.Join(c.Path(), "README.md")); err != nil {
		t.Fatalf("checkout lacks README.md: %v", err)
	}
	writeFiles(t, c.Path(), map[string]string{"a.txt": "one\ntwo\n", "sub/b.txt": "three\n"})
	if err := os.Remove(filepath.Join(c.Path(), "README.md")); err != nil {
		t.Fatal(err)
	}
	res, err := c.Commit(ctx, "node output\n\n# not a comment", [][2]string{{"Maestro-Run", "x"}, {"Maestro-Node", "y"}},
		Identity{Name: "Bot", Email: "bot@example.com"}, fixedDate)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || !reflect.DeepEqual(res.Parents, []string{base}) || res.SHA == base {
		t.Fatalf("commit = %+v", res)
	}
	if res.Files != 3 || res.Insertions != 3 || res.Deletions != 3 {
		t.Fatalf("diffstat = %d files +%d -%d, want 3 +3 -3", res.Files, res.Insertions, res.Deletions)
	}
	if err := m.Push(ctx, remote, res.SHA, "refs/maestro/r/n"); err != nil {
		t.Fatal(err)
	}
	if got := gitT(t, remote, "rev-parse", "refs/maestro/r/n"); got != res.SHA {
		t.Fatalf("remote ref = %s, want %s", got, res.SHA)
	}
	if got := gitT(t, remote, "log", "-1", "--format=%(trailers:only)", "refs/maestro/r/n"); got != "Maestro-Run: x\nMaestro-Node: y" {
		t.Fatalf("trailers = %q", got)
	}
	if got := gitT(t, remote, "log", "-1", "--format=%an <%ae> %at|%B", res.SHA); !strings.HasPrefix(got, fmt.Sprintf("Bot <bot@example.com> %d|node output\n\n# not a comment", fixedDate.Unix())) {
		t.Fatalf("log = %q", got)
	}
	// Push to a branch too, forcing it back to the base afterwards.
	if err := m.Push(ctx, remote, res.SHA, "refs/heads/out"); err != nil {
		t.Fatal(err)
	}
	if err := m.Push(ctx, remote, base, "refs/heads/out"); err != nil {
		t.Fatalf("force push: %v", err)
	}
	if err := m.Push(ctx, remote, res.SHA, "heads/out"); !errors.Is(err, ErrInvalidRef) {
		t.Fatalf("short ref: %v", err)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	if left := checkoutsLeft(t, m); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}

	// Nothing changed: the base comes back.
	c2, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{res.SHA}})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Remove()
	res2, err := c2.Commit(ctx, "nothing", nil, Identity{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Changed || res2.SHA != res.SHA || !reflect.DeepEqual(res2.Parents, []string{base}) {
		t.Fatalf("unchanged commit = %+v", res2)
	}

	// A commit the caller made in the checkout is squashed onto the base.
	writeFiles(t, c2.Path(), map[string]string{"c.txt": "c\n"})
	gitT(t, c2.Path(), "add", "c.txt")
	gitT(t, c2.Path(), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "by the agent")
	writeFiles(t, c2.Path(), map[string]string{"d.txt": "d\n"})
	res3, err := c2.Commit(ctx, "squashed", nil, Identity{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !res3.Changed || !reflect.DeepEqual(res3.Parents, []string{res.SHA}) || res3.Files != 2 {
		t.Fatalf("squashed commit = %+v", res3)
	}

	// So is a branch the caller switched to; the commit is detached.
	c3, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Remove()
	gitT(t, c3.Path(), "checkout", "-q", "-b", "agent-branch")
	writeFiles(t, c3.Path(), map[string]string{"e.txt": "e\n"})
	gitT(t, c3.Path(), "add", "e.txt")
	gitT(t, c3.Path(), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "on a branch")
	res4, err := c3.Commit(ctx, "detached", nil, Identity{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !res4.Changed || !reflect.DeepEqual(res4.Parents, []string{base}) || res4.Files != 1 {
		t.Fatalf("commit from a branch = %+v", res4)
	}
	if got := gitT(t, c3.Path(), "rev-parse", "--symbolic-full-name", "HEAD"); got != "HEAD" {
		t.Fatalf("HEAD not detached: %s", got)
	}
	if _, err := c3.Commit(ctx, "x", [][2]string{{"Bad Key", "v"}}, Identity{}, time.Time{}); !errors.Is(err, ErrInvalidRef) {
		t.Fatalf("bad trailer: %v", err)
	}
}

func TestMerge(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)
	a := commitOn(t, m, remote, base, map[string]string{"a.txt": "a\n"}, "refs/heads/a")
	b := commitOn(t, m, remote, base, map[string]string{"b.txt": "b\n"}, "refs/heads/b")
	c := commitOn(t, m, remote, base, map[string]string{"c/c.txt": "c\n"}, "refs/heads/c")

	merge := func(m *Manager, bases ...string) string {
		t.Helper()
		co, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: bases, Date: fixedDate})
		if err != nil {
			t.Fatal(err)
		}
		defer co.Remove()
		for _, f := range []string{"a.txt", "b.txt", "README.md"} {
			if _, err := os.Stat(filepath.Join(co.Path(), f)); err != nil {
				t.Fatalf("merged checkout lacks %s", f)
			}
		}
		if got := gitT(t, co.Path(), "status", "--porcelain"); got != "" {
			t.Fatalf("merged checkout not clean: %q", got)
		}
		return co.Base()
	}
	ab := merge(m, a, b)
	if err := exec.Command("git", "-C", remote, "cat-file", "-e", ab).Run(); err == nil {
		t.Fatal("merge should not be on the remote yet")
	}
	mir, _ := m.mirror(remote)
	if got := gitT(t, mir.path, "log", "-1", "--format=%P|%s", ab); got != a+" "+b+"|Merge "+b[:12] {
		t.Fatalf("merge commit = %q", got)
	}
	if again := merge(m, a, b); again != ab {
		t.Fatalf("same merge twice: %s then %s", ab, again)
	}
	// Another worker (own Dir, cold cache) makes the same merge commit.
	if other := merge(newManager(t), a, b); other != ab {
		t.Fatalf("other worker's merge = %s, want %s", other, ab)
	}
	abc := merge(m, a, b, c)
	if got := gitT(t, mir.path, "log", "-1", "--format=%P", abc); got != ab+" "+c {
		t.Fatalf("three-way parents = %q, want %s %s", got, ab, c)
	}
	// A base that another base contains adds nothing: no merge commit, in
	// whichever order they come, and a duplicate is merged once.
	for _, bases := range [][]string{{ab, a}, {a, ab}, {ab, b, a}, {ab, ab}} {
		if got := merge(m, bases...); got != ab {
			t.Fatalf("merge(%v) = %s, want %s (nothing to merge)", bases, got, ab)
		}
	}
	if got := merge(m, a, ab, c); got != abc {
		t.Fatalf("merge(a, ab, c) = %s, want the merge of ab and c %s", got, abc)
	}
	if left := checkoutsLeft(t, m); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

func TestMergeConflict(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)
	a := commitOn(t, m, remote, base, map[string]string{"README.md": "a\n", "x.txt": "x\n"}, "refs/heads/a")
	b := commitOn(t, m, remote, base, map[string]string{"README.md": "b\n", "y.txt": "y\n"}, "refs/heads/b")
	_, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{a, b}})
	var mc *MergeConflictError
	if !errors.As(err, &mc) {
		t.Fatalf("got %v, want *MergeConflictError", err)
	}
	if !reflect.DeepEqual(mc.Files, []string{"README.md"}) || mc.Base != a || mc.Merging != b {
		t.Fatalf("conflict = %+v", mc)
	}
	if left := checkoutsLeft(t, m); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	closeLeavesNothing(t, remote, m)
}

// Eight goroutines run three rounds of nodes each, so most checkouts are
// pooled worktrees another goroutine removed: each must be exactly its base.
func TestConcurrentNodes(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)
	const n, rounds = 8, 3
	var wg sync.WaitGroup
	errs := make([]error, n)
	shas := make([][rounds]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				errs[i] = func() error {
					c, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
					if err != nil {
						return err
					}
					defer c.Remove()
					ents, err := os.ReadDir(c.Path())
					if err != nil {
						return err
					}
					if len(ents) != 2 { // .git and README.md
						return fmt.Errorf("checkout of the base holds %d entries", len(ents))
					}
					name := fmt.Sprintf("node%d.txt", i)
					if err := os.WriteFile(filepath.Join(c.Path(), name), []byte(name), 0o644); err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(c.Path(), "untracked.log"), []byte(name), 0o444); err != nil {
						return err
					}
					res, err := c.Commit(ctx, name, [][2]string{{"Maestro-Node", name}}, Identity{}, time.Time{})
					if err != nil {
						return err
					}
					if res.Files != 2 || !reflect.DeepEqual(res.Parents, []string{base}) {
						return fmt.Errorf("commit %+v", res)
					}
					shas[i][r] = res.SHA
					if err := m.Push(ctx, remote, res.SHA, fmt.Sprintf("refs/maestro/wf/n%d-%d", i, r)); err != nil {
						return err
					}
					return c.Remove()
				}()
				if errs[i] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		for r := range rounds {
			if got := gitT(t, remote, "rev-parse", fmt.Sprintf("refs/maestro/wf/n%d-%d", i, r)); got != shas[i][r] {
				t.Fatalf("node %d round %d: remote has %s, want %s", i, r, got, shas[i][r])
			}
		}
	}
	if left := checkoutsLeft(t, m); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	closeLeavesNothing(t, remote, m)
}

func TestTwoWorkers(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m1, m2 := newManager(t), newManager(t)
	// m2 warms its mirror first, so the node ref is a miss it must fetch.
	if _, err := m2.Resolve(ctx, remote, "main"); err != nil {
		t.Fatal(err)
	}
	sha := commitOn(t, m1, remote, base, map[string]string{"from1.txt": "hi\n"}, "refs/maestro/wf/one")
	c, err := m2.Checkout(ctx, "file://"+remote, CheckoutOptions{Bases: []string{sha}})
	if err == nil { // a file:// URL is a different mirror key: fine too
		c.Remove()
	}
	c, err = m2.Checkout(ctx, remote, CheckoutOptions{Bases: []string{sha}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Remove()
	if b, err := os.ReadFile(filepath.Join(c.Path(), "from1.txt")); err != nil || string(b) != "hi\n" {
		t.Fatalf("from1.txt = %q, %v", b, err)
	}
	// A commit on no remote ref at all is an unknown ref.
	_, err = m2.Checkout(ctx, remote, CheckoutOptions{Bases: []string{strings.Repeat("a", 40)}})
	if !errors.Is(err, ErrUnknownRef) {
		t.Fatalf("missing base: %v", err)
	}
}

func TestDiff(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)
	var big strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&big, "line %d\n", i)
	}
	sha := commitOn(t, m, remote, base, map[string]string{"big.txt": big.String()}, "refs/heads/big")

	other := newManager(t) // computes in a cold mirror: fetches
	d, trunc, err := other.Diff(ctx, remote, base, sha, 0)
	if err != nil || trunc || !strings.Contains(d, "+++ b/big.txt") || !strings.Contains(d, "+line 999\n") {
		t.Fatalf("full diff: trunc=%v err=%v len=%d", trunc, err, len(d))
	}
	d2, trunc, err := m.Diff(ctx, remote, "", sha, 0)
	if err != nil || trunc || d2 != d {
		t.Fatalf("first-parent diff differs: trunc=%v err=%v", trunc, err)
	}
	d3, trunc, err := m.Diff(ctx, remote, base, sha, 100)
	if err != nil || !trunc || len(d3) != 100 || !strings.HasPrefix(d, d3) {
		t.Fatalf("capped diff: trunc=%v err=%v len=%d", trunc, err, len(d3))
	}
	root, _, err := m.Diff(ctx, remote, "", base, 0)
	if err != nil || !strings.Contains(root, "+++ b/README.md") {
		t.Fatalf("root diff: %v %q", err, root)
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://user:token@github.com/o/r.git", "https://github.com/o/r.git"},
		{"https://x-access-token:ghs_abc@github.com/o/r", "https://github.com/o/r"},
		{"https://token@host/r.git", "https://host/r.git"},
		{"ssh://git@host:22/r.git", "ssh://host:22/r.git"},
		{"https://host/r.git", "https://host/r.git"},
		{"git@github.com:o/r.git", "git@github.com:o/r.git"},
		{"/srv/repos/r.git", "/srv/repos/r.git"},
		{"fatal: could not read from https://u:p@h/x and http://a@b/c", "fatal: could not read from https://h/x and http://b/c"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Errors never carry the credentials.
	m := newManager(t)
	_, err := m.Resolve(context.Background(), "http://user:s3cret@127.0.0.1:1/r.git", "main")
	if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "user") {
		t.Fatalf("error leaks credentials or is nil: %v", err)
	}
}

func TestRepoValidation(t *testing.T) {
	for _, tc := range []struct {
		repo string
		ok   bool
	}{
		{"/abs/path.git", true},
		{"file:///abs/path.git", true},
		{"ssh://git@host/o/r.git", true},
		{"git@github.com:o/r.git", true},
		{"host:o/r.git", true},
		{"https://u:p@host/o/r.git", true},
		{"relative/path", false},
		{"./r.git", false},
		{"r.git", false},
		{"-x", false},
		{"--upload-pack=touch /tmp/x", false},
		{"ext::sh -c touch% /tmp/x", false},
		{"fd::17", false},
		{"ssh://-oProxyCommand=x/r", false},
		{"https:///nohost", false},
		{"-oProxyCommand=x:r", false},
		{"/abs\nnewline", false},
		{"", false},
	} {
		err := checkRepo(tc.repo)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalidRepo)) {
			t.Errorf("checkRepo(%q) = %v, want ok=%v", tc.repo, err, tc.ok)
		}
	}
	m := newManager(t)
	ctx := context.Background()
	if _, err := m.Resolve(ctx, "relative/r.git", "main"); !errors.Is(err, ErrInvalidRepo) {
		t.Errorf("relative: %v", err)
	}
	if _, err := m.Checkout(ctx, "-x", CheckoutOptions{Bases: []string{strings.Repeat("a", 40)}}); !errors.Is(err, ErrInvalidRepo) {
		t.Errorf("-x: %v", err)
	}
	remote, _ := newRemote(t)
	if _, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{"main"}}); !errors.Is(err, ErrInvalidRef) {
		t.Errorf("non-SHA base: %v", err)
	}
	if err := m.Push(ctx, remote, strings.Repeat("a", 40), "refs/heads/-x..y"); !errors.Is(err, ErrInvalidRef) {
		t.Errorf("bad ref: %v", err)
	}
	if _, err := Init(ctx, "", "rel/dir"); !errors.Is(err, ErrInvalidRepo) {
		t.Errorf("Init relative: %v", err)
	}
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	dir := t.TempDir()
	m, err := New(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	live, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove()
	dead, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	dead.lock.Close() // its process died: the flock is gone
	stray := filepath.Join(dir, "checkouts", "stray")
	writeFiles(t, stray, map[string]string{"f": "x"})

	// A new process sharing Dir sweeps at start.
	m2, err := New(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dead.Path(), stray, dead.Path() + ".lock"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived Sweep: %v", p, err)
		}
	}
	if _, err := os.Stat(filepath.Join(live.Path(), "README.md")); err != nil {
		t.Errorf("live checkout swept: %v", err)
	}
	wt := worktrees(t, m, remote)
	if strings.Contains(wt, dead.Path()) || !strings.Contains(wt, live.Path()) {
		t.Errorf("worktree metadata after Sweep:\n%s", wt)
	}
	if err := live.Remove(); err != nil {
		t.Fatal(err)
	}
	if left := checkoutsLeft(t, m); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	// live is now idle in m's pool: a sweep by a live process keeps it...
	if err := m2.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(live.Path(), "README.md")); err != nil {
		t.Errorf("idle checkout of a live process swept: %v", err)
	}
	// ...and once m's process is gone (its flocks with it), the next worker's
	// Sweep deletes it: it starts with an empty pool.
	m.mu.Lock()
	for _, l := range m.idle {
		for _, w := range l {
			w.lock.Close()
		}
	}
	m.idle = map[string][]*idle{}
	m.mu.Unlock()
	m3, err := New(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := m3.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	closeLeavesNothing(t, remote, m3)
}

func TestCancelledCheckoutLeavesNothing(t *testing.T) {
	remote, base := newRemote(t)
	m := newManager(t)
	a := commitOn(t, m, remote, base, map[string]string{"a.txt": "a\n"}, "refs/heads/a")
	b := commitOn(t, m, remote, base, map[string]string{"b.txt": "b\n"}, "refs/heads/b")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Checkout(cancelled, remote, CheckoutOptions{Bases: []string{a, b}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled checkout: %v", err)
	}
	// Deadlines landing at different stages (lock, worktree add, merge).
	for d := time.Millisecond; d < 200*time.Millisecond; d += 7 * time.Millisecond {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		c, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{a, b}})
		cancel()
		if err == nil {
			c.Remove()
		} else if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("deadline %v: %v", d, err)
		}
		if left := checkoutsLeft(t, m); len(left) != 0 {
			t.Fatalf("deadline %v left behind: %v", d, left)
		}
	}
	closeLeavesNothing(t, remote, m)
}

func TestWarmCacheNeedsNoRemote(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)
	sha := commitOn(t, m, remote, base, map[string]string{"a.txt": "a\n"}, "refs/maestro/wf/a")
	// The remote disappears: commits already in the mirror still check out,
	// so a warm cache makes no network round trip.
	moved := remote + ".away"
	if err := os.Rename(remote, moved); err != nil {
		t.Fatal(err)
	}
	c, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{sha, base}})
	if err != nil {
		t.Fatalf("warm checkout without the remote: %v", err)
	}
	c.Remove()
	if _, err := m.Resolve(ctx, remote, sha); err != nil {
		t.Fatalf("warm Resolve of a full SHA: %v", err)
	}
	var ge *GitError
	if _, err := m.Resolve(ctx, remote, "main"); !errors.As(err, &ge) || ge.Stderr == "" {
		t.Fatalf("Resolve of a branch must fetch (and fail with git's stderr): %v", err)
	}
}

// Two Managers on one Dir stand for two processes: only the flock serializes
// them (each has its own in-process locks). They race to create the mirror.
func TestSharedDir(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	dir := t.TempDir()
	var ms [2]*Manager
	for i := range ms {
		m, err := New(ctx, Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = m
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := ms[i%2]
			c, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
			if err != nil {
				errs <- err
				return
			}
			defer c.Remove()
			if err := os.WriteFile(filepath.Join(c.Path(), "f.txt"), []byte(fmt.Sprint(i)), 0o644); err != nil {
				errs <- err
				return
			}
			res, err := c.Commit(ctx, "x", nil, Identity{}, time.Time{})
			if err == nil {
				err = m.Push(ctx, remote, res.SHA, fmt.Sprintf("refs/maestro/shared/%d", i))
			}
			if err == nil {
				err = c.Remove()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	closeLeavesNothing(t, remote, ms[0], ms[1])
	if n := len(strings.Fields(gitT(t, remote, "for-each-ref", "--format=%(refname)", "refs/maestro/shared/"))); n != 8 {
		t.Fatalf("remote has %d refs, want 8", n)
	}
}

// What runs in a checkout cannot configure the worker's git: a credential
// helper or a clean filter set in a checkout (it writes the shared mirror's
// config) is gone before the worker commits, fetches or pushes.
func TestCheckoutCannotConfigureTheWorkersGit(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)
	co, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	defer co.Remove()
	marker := filepath.Join(t.TempDir(), "ran")
	gitT(t, co.Path(), "config", "filter.evil.clean", "touch "+marker+"; cat")
	gitT(t, co.Path(), "config", "credential.helper", "!touch "+marker)
	if err := os.WriteFile(filepath.Join(co.Path(), ".gitattributes"), []byte("* filter=evil\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(co.Path(), "x.txt"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := co.Commit(ctx, "x", nil, Identity{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Push(ctx, remote, c.SHA, "refs/maestro/r/x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a program configured in the checkout ran in the worker's git")
	}
	mir, _ := m.mirror(remote)
	if got, _ := os.ReadFile(filepath.Join(mir.path, "config")); string(got) != mirrorConfig {
		t.Fatalf("mirror config = %q", got)
	}
}

// A branch push is a fast-forward only: a run cannot overwrite what others
// pushed to its branch.
func TestPushBranchOnlyFastForwards(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)
	a := commitOn(t, m, remote, base, map[string]string{"a.txt": "a\n"}, "refs/maestro/r/a")
	b := commitOn(t, m, remote, base, map[string]string{"b.txt": "b\n"}, "refs/maestro/r/b")
	if err := m.PushBranch(ctx, remote, a, "feature"); err != nil {
		t.Fatal(err)
	}
	if err := m.PushBranch(ctx, remote, b, "feature"); !errors.Is(err, ErrNotFastForward) {
		t.Fatalf("pushing a diverged commit: err = %v, want ErrNotFastForward", err)
	}
	if got := gitT(t, remote, "rev-parse", "refs/heads/feature"); got != a {
		t.Fatalf("feature = %s, want it left at %s", got, a)
	}
	ab := commitOn(t, m, remote, a, map[string]string{"c.txt": "c\n"}, "refs/maestro/r/c")
	if err := m.PushBranch(ctx, remote, ab, "feature"); err != nil {
		t.Fatalf("a fast-forward: %v", err)
	}
}
