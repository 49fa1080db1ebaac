package codetools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fixture is a checkout (root) next to a sentinel directory that no call may
// touch.
type fixture struct {
	base, root, sentinel string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	base := t.TempDir()
	f := fixture{base: base, root: filepath.Join(base, "root"), sentinel: filepath.Join(base, "sentinel")}
	mkfile(t, filepath.Join(f.sentinel, "secret.txt"), "top secret\n")
	mkfile(t, filepath.Join(f.root, ".git", "config"), "[core]\n")
	mkfile(t, filepath.Join(f.root, ".git", "hooks", "README"), "hooks\n")
	mkfile(t, filepath.Join(f.root, "README.md"), "# hello\n")
	mkfile(t, filepath.Join(f.root, "sub", "a.go"), "package sub\n")
	mkfile(t, filepath.Join(f.root, "sub", ".git", "HEAD"), "ref\n")
	mkfile(t, filepath.Join(f.root, "sub", "deeper", "b.txt"), "b\n")
	return f
}

func mkfile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
}

// snapshot maps every path under dir (following nothing) to its content or
// link target.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			tgt, _ := os.Readlink(p)
			m[rel] = "-> " + tgt
		case d.IsDir():
			m[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// execRun runs argv for real, like a worker's runner would.
func execRun(ctx context.Context, argv []string, dir string, timeout time.Duration) (string, int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode(), nil
	}
	if err != nil {
		return string(out), -1, err
	}
	return string(out), 0, nil
}

func allowAll([]string) bool { return true }

func do(t *testing.T, b *Box, tool string, input any) Result {
	t.Helper()
	var raw json.RawMessage
	switch v := input.(type) {
	case string:
		raw = json.RawMessage(v)
	case nil:
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	res, err := b.Do(context.Background(), tool, raw)
	if err != nil {
		t.Fatalf("%s %s: Go error %v", tool, raw, err)
	}
	return res
}

type m = map[string]any

func TestHappyPaths(t *testing.T) {
	f := newFixture(t)
	b := &Box{Root: f.root, Run: execRun, Allowed: allowAll}

	// write (new, with parent dirs) then read
	res := do(t, b, "write_file", m{"path": "new/dir/x.txt", "content": "one\ntwo\nthree\n"})
	if res.IsError || !reflect.DeepEqual(res.Changed, []string{"new/dir/x.txt"}) {
		t.Fatalf("write: %+v", res)
	}
	if fi, err := os.Stat(filepath.Join(f.root, "new/dir/x.txt")); err != nil || fi.Mode().Perm() != 0o644&^umask() {
		t.Fatalf("new file mode: %v %v", fi, err)
	}
	res = do(t, b, "read_file", m{"path": "new/dir/x.txt"})
	if res.IsError || res.Output != "one\ntwo\nthree\n" {
		t.Fatalf("read: %+v", res)
	}
	// OS separators and redundant elements are fine
	res = do(t, b, "read_file", m{"path": "./new//dir/../dir/x.txt"})
	if res.IsError || res.Output != "one\ntwo\nthree\n" {
		t.Fatalf("read uncleaned path: %+v", res)
	}

	// overwrite keeps the mode
	exe := filepath.Join(f.root, "run.sh")
	mkfile(t, exe, "#!/bin/sh\n")
	if err := os.Chmod(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	res = do(t, b, "write_file", m{"path": "run.sh", "content": "#!/bin/sh\necho hi\n"})
	if res.IsError {
		t.Fatalf("overwrite: %+v", res)
	}
	if fi, _ := os.Stat(exe); fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode after overwrite %v", fi.Mode())
	}

	// edit exactly once
	res = do(t, b, "edit_file", m{"path": "new/dir/x.txt", "old_string": "two\n", "new_string": "2\n"})
	if res.IsError || !reflect.DeepEqual(res.Changed, []string{"new/dir/x.txt"}) || !strings.Contains(res.Output, "line 2") {
		t.Fatalf("edit: %+v", res)
	}
	if got, _ := os.ReadFile(filepath.Join(f.root, "new/dir/x.txt")); string(got) != "one\n2\nthree\n" {
		t.Fatalf("after edit: %q", got)
	}

	// list, non-recursive and recursive, never showing .git
	res = do(t, b, "list_files", nil)
	if want := "README.md\nnew/\nrun.sh\nsub/"; res.IsError || res.Output != want {
		t.Fatalf("list: %+v, want %q", res, want)
	}
	res = do(t, b, "list_files", m{"path": "sub", "recursive": true})
	if want := "sub/a.go\nsub/deeper/\nsub/deeper/b.txt"; res.IsError || res.Output != want {
		t.Fatalf("list sub recursive: %+v, want %q", res, want)
	}
	res = do(t, b, "list_files", m{"recursive": true})
	if res.IsError || strings.Contains(res.Output, ".git") || !strings.Contains(res.Output, "new/dir/x.txt") {
		t.Fatalf("list recursive: %+v", res)
	}

	// delete
	res = do(t, b, "delete_file", m{"path": "new/dir/x.txt"})
	if res.IsError || !reflect.DeepEqual(res.Changed, []string{"new/dir/x.txt"}) {
		t.Fatalf("delete: %+v", res)
	}
	if _, err := os.Stat(filepath.Join(f.root, "new/dir/x.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("still there: %v", err)
	}
	if res = do(t, b, "delete_file", m{"path": "new/dir"}); !res.IsError || !strings.Contains(res.Output, "directory") {
		t.Fatalf("delete dir: %+v", res)
	}
	if res = do(t, b, "delete_file", m{"path": "nope"}); !res.IsError || !strings.Contains(res.Output, "does not exist") {
		t.Fatalf("delete missing: %+v", res)
	}

	// run
	res = do(t, b, "run", m{"argv": []string{"sh", "-c", "echo out; echo err >&2; exit 3"}})
	if res.IsError || !strings.Contains(res.Output, "out\n") || !strings.Contains(res.Output, "err\n") || !strings.HasSuffix(res.Output, "exit code 3") {
		t.Fatalf("run: %+v", res)
	}

	// finish
	res = do(t, b, "finish", m{"summary": "did it"})
	if res.IsError || !res.Finished || res.Summary != "did it" {
		t.Fatalf("finish: %+v", res)
	}
	if res = do(t, b, "finish", m{"summary": "  "}); !res.IsError || res.Finished {
		t.Fatalf("empty summary: %+v", res)
	}
}

func umask() fs.FileMode {
	p := filepath.Join(os.TempDir(), "codetools-umask-probe")
	_ = os.Remove(p)
	f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o777)
	if err != nil {
		return 0o022
	}
	fi, _ := f.Stat()
	f.Close()
	os.Remove(p)
	return 0o777 &^ fi.Mode().Perm()
}

func TestEscapesRefused(t *testing.T) {
	f := newFixture(t)
	symlink(t, "/", filepath.Join(f.root, "escape"))
	symlink(t, "../sentinel", filepath.Join(f.root, "sib"))
	symlink(t, "../../../sentinel", filepath.Join(f.root, "sub", "deeper", "up"))
	symlink(t, "../sentinel/secret.txt", filepath.Join(f.root, "secretlink"))
	symlink(t, ".git", filepath.Join(f.root, "g"))
	symlink(t, "../.git/config", filepath.Join(f.root, "sub", "cfg"))
	symlink(t, "loop2", filepath.Join(f.root, "loop1"))
	symlink(t, "loop1", filepath.Join(f.root, "loop2"))
	var ran atomic.Int32
	b := &Box{Root: f.root, Allowed: allowAll, Run: func(ctx context.Context, argv []string, dir string, timeout time.Duration) (string, int, error) {
		ran.Add(1)
		return "", 0, nil
	}}
	beforeSentinel := snapshot(t, f.sentinel)
	beforeRoot := snapshot(t, f.root)
	_, tmpXErr := os.Lstat("/tmp/x")

	cases := []struct {
		tool  string
		input m
		want  string // in the message
	}{
		{"read_file", m{"path": "../../etc/passwd"}, "outside the checkout"},
		{"read_file", m{"path": "/etc/passwd"}, "absolute"},
		{"read_file", m{"path": `\etc\passwd`}, "absolute"},
		{"write_file", m{"path": "a/../../x", "content": "x"}, "outside the checkout"},
		{"write_file", m{"path": "../sentinel/pwned", "content": "x"}, "outside the checkout"},
		{"read_file", m{"path": ".git/config"}, ".git"},
		{"read_file", m{"path": ".GIT/config"}, ".git"},
		{"write_file", m{"path": ".git/hooks/pre-commit", "content": "#!/bin/sh\nrm -rf /\n"}, ".git"},
		{"write_file", m{"path": "sub/.git/x", "content": "x"}, ".git"},
		{"edit_file", m{"path": ".git/config", "old_string": "[core]", "new_string": "[x]"}, ".git"},
		{"delete_file", m{"path": ".git/config"}, ".git"},
		{"list_files", m{"path": ".git"}, ".git"},
		{"list_files", m{"path": "sub/.git"}, ".git"},
		{"run", m{"argv": []string{"true"}, "dir": ".git"}, ".git"},
		{"read_file", m{"path": "escape/etc/hostname"}, "symlink to /"},
		{"read_file", m{"path": "escape/etc/passwd"}, "outside the checkout"},
		{"write_file", m{"path": "escape/tmp/x", "content": "x"}, "outside the checkout"},
		{"write_file", m{"path": "escape" + f.sentinel + "/pwned", "content": "x"}, "outside the checkout"},
		{"list_files", m{"path": "escape"}, "outside the checkout"},
		{"list_files", m{"path": "escape/etc"}, "outside the checkout"},
		{"delete_file", m{"path": "escape" + f.sentinel + "/secret.txt"}, "outside the checkout"},
		{"run", m{"argv": []string{"true"}, "dir": "escape/tmp"}, "outside the checkout"},
		{"read_file", m{"path": "sib/secret.txt"}, "outside the checkout"},
		{"write_file", m{"path": "sib/pwned", "content": "x"}, "outside the checkout"},
		{"edit_file", m{"path": "sib/secret.txt", "old_string": "top", "new_string": "no"}, "outside the checkout"},
		{"delete_file", m{"path": "sib/secret.txt"}, "outside the checkout"},
		{"list_files", m{"path": "sib"}, "outside the checkout"},
		{"list_files", m{"path": "sib", "recursive": true}, "outside the checkout"},
		{"run", m{"argv": []string{"true"}, "dir": "sib"}, "outside the checkout"},
		{"read_file", m{"path": "sub/deeper/up/secret.txt"}, "outside the checkout"},
		{"write_file", m{"path": "sub/deeper/up/pwned", "content": "x"}, "outside the checkout"},
		{"read_file", m{"path": "secretlink"}, "outside the checkout"},
		{"write_file", m{"path": "secretlink", "content": "x"}, "outside the checkout"},
		{"edit_file", m{"path": "secretlink", "old_string": "top", "new_string": "no"}, "outside the checkout"},
		{"read_file", m{"path": "g/config"}, ".git"},
		{"write_file", m{"path": "g/hooks/post-checkout", "content": "x"}, ".git"},
		{"list_files", m{"path": "g"}, ".git"},
		{"read_file", m{"path": "sub/cfg"}, ".git"},
		{"read_file", m{"path": "loop1"}, "too many levels of symlinks"},
		{"read_file", m{"path": "a\x00b"}, "NUL"},
		{"write_file", m{"path": "a\x00b", "content": "x"}, "NUL"},
		{"write_file", m{"path": ".", "content": "x"}, "root directory"},
		{"delete_file", m{"path": "."}, "root directory"},
		{"read_file", m{"path": ""}, "empty path"},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%02d_%s", i, c.tool), func(t *testing.T) {
			t.Logf("input %q", c.input)
			res := do(t, b, c.tool, c.input)
			t.Logf("-> %s", res.Output)
			if !res.IsError {
				t.Fatalf("not refused: %+v", res)
			}
			if !strings.Contains(res.Output, c.want) {
				t.Errorf("message %q does not mention %q", res.Output, c.want)
			}
			if strings.Contains(res.Output, "top secret") || strings.Contains(res.Output, "root:") || strings.Contains(res.Output, "[core]") {
				t.Errorf("leaked content: %q", res.Output)
			}
			if strings.Contains(res.Output, "openat") || strings.Contains(res.Output, f.base) {
				t.Errorf("unclean message: %q", res.Output)
			}
			if len(res.Changed) != 0 {
				t.Errorf("Changed: %v", res.Changed)
			}
			if got := snapshot(t, f.sentinel); !reflect.DeepEqual(got, beforeSentinel) {
				t.Fatalf("sentinel changed: %v", got)
			}
			if got := snapshot(t, f.root); !reflect.DeepEqual(got, beforeRoot) {
				t.Fatalf("root changed: %v", got)
			}
			if _, err := os.Lstat("/tmp/x"); errors.Is(tmpXErr, fs.ErrNotExist) && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("/tmp/x appeared")
			}
		})
	}
	if n := ran.Load(); n != 0 {
		t.Fatalf("Run called %d times", n)
	}

	// Listing the checkout shows the links but goes through none of them.
	res := do(t, b, "list_files", m{"recursive": true})
	if res.IsError {
		t.Fatalf("recursive list: %+v", res)
	}
	for _, line := range strings.Split(res.Output, "\n") {
		for _, link := range []string{"escape/", "sib/", "g/", "sub/deeper/up/", ".git"} {
			if strings.HasPrefix(line, link) {
				t.Fatalf("listed through a link: %q in %q", line, res.Output)
			}
		}
	}
	if !strings.Contains(res.Output, "sib -> ../sentinel") || !strings.Contains(res.Output, "escape -> /") {
		t.Fatalf("links not shown: %q", res.Output)
	}
}
