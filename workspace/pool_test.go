package workspace

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// treeFiles lists the files and directories under root (not root/.git),
// relative, slash-separated, directories with a trailing "/".
func treeFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case rel == ".":
			return nil
		case rel == ".git":
			return nil
		case d.IsDir():
			out = append(out, filepath.ToSlash(rel)+"/")
		default:
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// baseFiles lists base's files and their directories as treeFiles does.
func baseFiles(t testing.TB, repo, base string) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.Split(gitT(t, repo, "ls-tree", "-r", "--name-only", base), "\n") {
		out = append(out, f)
		for d := filepath.Dir(f); d != "."; d = filepath.Dir(d) {
			if !seen[d] {
				seen[d] = true
				out = append(out, d+"/")
			}
		}
	}
	sort.Strings(out)
	return out
}

// assertExactly checks that c is exactly a fresh checkout of base: HEAD
// detached at it, nothing modified, untracked or ignored, the same files and
// directories, every file and directory owner-writable.
func assertExactly(t testing.TB, repo string, c *Checkout, base string) {
	t.Helper()
	if got := gitT(t, c.Path(), "status", "--porcelain", "--ignored", "--untracked-files=all"); got != "" {
		t.Fatalf("checkout of %s not clean:\n%s", short(base), got)
	}
	if got := gitT(t, c.Path(), "rev-parse", "HEAD", "--symbolic-full-name", "HEAD"); got != base+"\nHEAD" {
		t.Fatalf("HEAD = %q, want %s detached", got, base)
	}
	if got, want := treeFiles(t, c.Path()), baseFiles(t, repo, base); !reflect.DeepEqual(got, want) {
		t.Fatalf("checkout files:\n%v\nwant (git ls-tree):\n%v", got, want)
	}
	filepath.WalkDir(c.Path(), func(p string, d fs.DirEntry, err error) error {
		if fi, err := d.Info(); err == nil && fi.Mode().Perm()&0o200 == 0 {
			t.Errorf("%s is not writable: %v", p, fi.Mode())
		}
		return nil
	})
	for _, f := range []string{"MERGE_HEAD", "MERGE_MSG", "REBASE_HEAD", "rebase-merge", "CHERRY_PICK_HEAD"} {
		if _, err := os.Stat(gitT(t, c.Path(), "rev-parse", "--path-format=absolute", "--git-path", f)); err == nil {
			t.Errorf("%s left in the checkout's git dir", f)
		}
	}
}

func idleCount(m *Manager) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, l := range m.idle {
		n += len(l)
	}
	return n
}

// A removed checkout is reused, and whatever its user did — edits, staged
// and untracked files, ignored and excluded ones, new and empty directories,
// read-only files and directories, a nested repository, a local branch with
// a commit — the next Checkout is exactly its own base.
func TestPoolReuseIsExact(t *testing.T) {
	ctx := context.Background()
	remote, initial := newRemote(t)
	m := newManager(t)
	a := commitOn(t, m, remote, initial, map[string]string{
		".gitignore": "*.log\nignored-dir/\n", "keep/k.txt": "k\n", "ro.txt": "ro\n", "gone/g.txt": "g\n",
	}, "refs/heads/a")
	b := commitOn(t, m, remote, a, map[string]string{"b.txt": "b\n", "keep/k.txt": "k2\n"}, "refs/heads/b")

	c1, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{a}})
	if err != nil {
		t.Fatal(err)
	}
	p := c1.Path()
	assertExactly(t, remote, c1, a)
	// The user's mess.
	gitT(t, p, "checkout", "-q", "-b", "agent-branch")
	writeFiles(t, p, map[string]string{
		"keep/k.txt": "changed\n", "staged.txt": "s\n", "u.txt": "u\n", "new/deep/f.txt": "f\n",
		"x.log": "ignored\n", "ignored-dir/big.bin": "ignored\n", "excluded.txt": "excluded\n",
		"rodir/f.txt": "f\n", "rofile.txt": "r\n", "gone/extra.txt": "e\n",
	})
	gitT(t, p, "add", "staged.txt")
	gitT(t, p, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "agent commit")
	if err := os.Remove(filepath.Join(p, "README.md")); err != nil {
		t.Fatal(err)
	}
	exclude := gitT(t, p, "rev-parse", "--path-format=absolute", "--git-path", "info/exclude")
	oldExclude, _ := os.ReadFile(exclude)
	if err := os.WriteFile(exclude, append(append([]byte{}, oldExclude...), "excluded.txt\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(p, "empty/dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	gitT(t, p, "init", "-q", "nested")
	writeFiles(t, p, map[string]string{"nested/n.txt": "n\n"})
	gitT(t, filepath.Join(p, "nested"), "add", "n.txt")
	gitT(t, filepath.Join(p, "nested"), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-q", "-m", "nested")
	for _, f := range []struct {
		name string
		mode os.FileMode
	}{{"rofile.txt", 0o444}, {"ro.txt", 0o444}, {"rodir", 0o555}, {"gone", 0o555}, {"keep", 0o555}, {"empty", 0o500}} {
		if err := os.Chmod(filepath.Join(p, f.name), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := c1.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil || idleCount(m) != 1 {
		t.Fatalf("removed checkout not pooled: %v, %d idle", err, idleCount(m))
	}

	c2, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{b}})
	if err != nil {
		t.Fatal(err)
	}
	if c2.Path() != p {
		t.Fatalf("not reused: %s, want %s", c2.Path(), p)
	}
	assertExactly(t, remote, c2, b)
	if err := os.WriteFile(exclude, oldExclude, 0o644); err != nil {
		t.Fatal(err)
	}
	// The reused checkout commits onto its base as a fresh one does.
	writeFiles(t, c2.Path(), map[string]string{"out.txt": "o\n"})
	res, err := c2.Commit(ctx, "out", nil, Identity{}, fixedDate)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Files != 1 || !reflect.DeepEqual(res.Parents, []string{b}) {
		t.Fatalf("commit in a reused checkout = %+v", res)
	}
	if got := gitT(t, remote, "--git-dir="+mustMirror(t, m, remote), "ls-tree", "-r", "--name-only", res.SHA); strings.Contains(got, "staged.txt") {
		t.Fatalf("a previous user's file in the commit: %s", got)
	}
	c2.Remove()
	// The same base again, from the pool: the committed file is gone.
	c3, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{b}})
	if err != nil {
		t.Fatal(err)
	}
	if c3.Path() != p {
		t.Fatalf("not reused: %s, want %s", c3.Path(), p)
	}
	assertExactly(t, remote, c3, b)
	c3.Remove()
	closeLeavesNothing(t, remote, m)
}

func mustMirror(t testing.TB, m *Manager, repo string) string {
	t.Helper()
	mir, err := m.mirror(repo)
	if err != nil {
		t.Fatal(err)
	}
	return mir.path
}

// A pooled worktree whose state a reset cannot be trusted to fix (a file git
// was told to assume unchanged, a rebase in progress, a changed .git file) is
// deleted and a fresh checkout made.
func TestPoolDiscardsUnresettable(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)
	for _, spoil := range []func(p string){
		func(p string) {
			gitT(t, p, "update-index", "--assume-unchanged", "README.md")
			writeFiles(t, p, map[string]string{"README.md": "hidden change\n"})
		},
		func(p string) {
			d := gitT(t, p, "rev-parse", "--path-format=absolute", "--git-path", "rebase-merge")
			writeFiles(t, d, map[string]string{"head-name": "refs/heads/x\n"})
		},
		func(p string) {
			if err := os.WriteFile(filepath.Join(p, ".git"), []byte("gitdir: /nonexistent\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
	} {
		c, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
		if err != nil {
			t.Fatal(err)
		}
		old := c.Path()
		spoil(old)
		c.Remove()
		c, err = m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Path() == old {
			t.Fatalf("spoiled worktree reused")
		}
		if _, err := os.Stat(old); !os.IsNotExist(err) {
			t.Fatalf("spoiled worktree not deleted: %v", err)
		}
		assertExactly(t, remote, c, base)
		c.Remove()
		if left := checkoutsLeft(t, m); len(left) != 0 {
			t.Fatalf("left behind: %v", left)
		}
	}
	closeLeavesNothing(t, remote, m)
}

// A merge that conflicts in a reused worktree returns a MergeConflictError;
// the worktree, back in the pool, is exactly the next caller's base.
func TestPoolMergeConflict(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)
	a := commitOn(t, m, remote, base, map[string]string{"README.md": "a\n"}, "refs/heads/a")
	b := commitOn(t, m, remote, base, map[string]string{"README.md": "b\n", "y.txt": "y\n"}, "refs/heads/b")
	if idleCount(m) != 1 {
		t.Fatalf("%d idle, want 1", idleCount(m))
	}
	p := m.idle[mustMirror(t, m, remote)][0].path
	_, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{a, b}})
	var mc *MergeConflictError
	if !errors.As(err, &mc) || mc.Base != a || mc.Merging != b {
		t.Fatalf("got %v, want a conflict merging b into a", err)
	}
	if idleCount(m) != 1 {
		t.Fatalf("%d idle after the conflict, want 1", idleCount(m))
	}
	for _, bs := range []string{a, b, base} {
		c, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{bs}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Path() != p {
			t.Fatalf("not reused: %s, want %s", c.Path(), p)
		}
		assertExactly(t, remote, c, bs)
		c.Remove()
	}
	// The same conflict again after Close: the worktree is deleted.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{a, b}}); !errors.As(err, &mc) {
		t.Fatalf("got %v, want a conflict", err)
	}
	closeLeavesNothing(t, remote, m)
}

// At most maxIdle worktrees per mirror stay on disk.
func TestPoolCap(t *testing.T) {
	ctx := context.Background()
	remote, base := newRemote(t)
	m := newManager(t)
	var cs []*Checkout
	for range 6 {
		c, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		if err := c.Remove(); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir(m.checkout)
	if err != nil {
		t.Fatal(err)
	}
	dirs := 0
	for _, e := range ents {
		if e.IsDir() {
			dirs++
		}
	}
	if dirs != maxIdle || idleCount(m) != maxIdle {
		t.Fatalf("%d checkouts on disk, %d idle; want %d", dirs, idleCount(m), maxIdle)
	}
	if left := checkoutsLeft(t, m); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	if wt := worktrees(t, m, remote); strings.Count(wt, "worktree ") != 1+maxIdle {
		t.Fatalf("worktree metadata: %s", wt)
	}
	closeLeavesNothing(t, remote, m)
	// After Close, Remove deletes.
	c, err := m.Checkout(ctx, remote, CheckoutOptions{Bases: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	c.Remove()
	closeLeavesNothing(t, remote, m)
}
