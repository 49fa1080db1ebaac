package codetools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	f := newFixture(t)
	type call struct {
		argv    []string
		dir     string
		timeout time.Duration
	}
	var calls []call
	recording := func(ctx context.Context, argv []string, dir string, timeout time.Duration) (string, int, error) {
		calls = append(calls, call{argv, dir, timeout})
		return execRun(ctx, argv, dir, timeout)
	}
	onlyGo := func(argv []string) bool { return argv[0] == "pwd" }

	t.Run("refusals", func(t *testing.T) {
		cases := []struct {
			name string
			box  Box
			want string
		}{
			{"no Run", Box{Root: f.root, Allowed: allowAll}, "no commands on this worker"},
			{"no policy", Box{Root: f.root, Run: recording}, `the worker policy does not allow running "rm"`},
			{"policy says no", Box{Root: f.root, Run: recording, Allowed: onlyGo}, `the worker policy does not allow running "rm"`},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				calls = nil
				res := do(t, &c.box, "run", m{"argv": []string{"rm", "-rf", "sub"}})
				if !res.IsError || !strings.Contains(res.Output, c.want) {
					t.Fatalf("%+v, want %q", res, c.want)
				}
				if len(calls) != 0 {
					t.Fatalf("Run called: %v", calls)
				}
				if _, err := os.Stat(filepath.Join(f.root, "sub", "a.go")); err != nil {
					t.Fatal(err)
				}
			})
		}
	})

	t.Run("relative dir", func(t *testing.T) {
		calls = nil
		b := &Box{Root: f.root, Run: recording, Allowed: onlyGo}
		res := do(t, b, "run", m{"argv": []string{"pwd"}, "dir": "sub/deeper"})
		want := filepath.Join(f.root, "sub", "deeper")
		if res.IsError || res.Output != want+"\nexit code 0" {
			t.Fatalf("%+v, want dir %s", res, want)
		}
		for _, d := range []string{"sub/a.go", "nope", "../sentinel", "/tmp"} {
			if res := do(t, b, "run", m{"argv": []string{"pwd"}, "dir": d}); !res.IsError {
				t.Fatalf("dir %s: %+v", d, res)
			}
		}
		if len(calls) != 1 {
			t.Fatalf("calls %v", calls)
		}
	})

	t.Run("timeouts", func(t *testing.T) {
		cases := []struct {
			name     string
			box      Box
			input    string
			want     time.Duration
			wantNote bool
		}{
			{"default", Box{}, `{"argv":["pwd"]}`, 2 * time.Minute, false},
			{"zero means default", Box{}, `{"argv":["pwd"],"timeout_seconds":0}`, 2 * time.Minute, false},
			{"asked", Box{}, `{"argv":["pwd"],"timeout_seconds":30}`, 30 * time.Second, false},
			{"at the cap", Box{}, `{"argv":["pwd"],"timeout_seconds":600}`, 10 * time.Minute, false},
			{"over the cap", Box{}, `{"argv":["pwd"],"timeout_seconds":100000}`, 10 * time.Minute, true},
			{"configured", Box{DefaultTimeout: 5 * time.Second, MaxTimeout: 20 * time.Second}, `{"argv":["pwd"]}`, 5 * time.Second, false},
			{"configured cap", Box{DefaultTimeout: 5 * time.Second, MaxTimeout: 20 * time.Second}, `{"argv":["pwd"],"timeout_seconds":60}`, 20 * time.Second, true},
			{"default above cap", Box{DefaultTimeout: time.Hour, MaxTimeout: 20 * time.Second}, `{"argv":["pwd"]}`, 20 * time.Second, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				calls = nil
				b := c.box
				b.Root, b.Run, b.Allowed = f.root, recording, onlyGo
				res := do(t, &b, "run", c.input)
				if res.IsError || len(calls) != 1 || calls[0].timeout != c.want {
					t.Fatalf("%+v calls %v, want timeout %v", res, calls, c.want)
				}
				if got := strings.Contains(res.Output, "timeout capped"); got != c.wantNote {
					t.Fatalf("note %v in %q", got, res.Output)
				}
			})
		}
		b := &Box{Root: f.root, Run: recording, Allowed: onlyGo}
		if res := do(t, b, "run", `{"argv":["pwd"],"timeout_seconds":-1}`); !res.IsError {
			t.Fatalf("negative timeout: %+v", res)
		}
	})

	t.Run("real timeout", func(t *testing.T) {
		b := &Box{Root: f.root, Run: execRun, Allowed: allowAll}
		start := time.Now()
		res := do(t, b, "run", m{"argv": []string{"sleep", "30"}, "timeout_seconds": 1})
		if time.Since(start) > 20*time.Second || !strings.Contains(res.Output, "exit code") {
			t.Fatalf("%+v after %v", res, time.Since(start))
		}
	})

	t.Run("could not run", func(t *testing.T) {
		b := &Box{Root: f.root, Run: execRun, Allowed: allowAll}
		res := do(t, b, "run", m{"argv": []string{"no-such-program-xyz"}})
		if !res.IsError || !strings.Contains(res.Output, `could not run "no-such-program-xyz"`) {
			t.Fatalf("%+v", res)
		}
	})
}

func TestInputErrors(t *testing.T) {
	f := newFixture(t)
	b := &Box{Root: f.root, Run: execRun, Allowed: allowAll}
	cases := []struct {
		tool, input, want string
	}{
		{"read_file", `{"path":`, "not valid JSON"},
		{"read_file", `not json`, "not valid JSON"},
		{"read_file", `["a"]`, "must be a JSON object"},
		{"read_file", `{}`, `missing required field "path"`},
		{"read_file", ``, `missing required field "path"`},
		{"read_file", `null`, `missing required field "path"`},
		{"read_file", `{"path":7}`, `field "path" must be a string`},
		{"read_file", `{"path":"README.md","offset":"x"}`, `field "offset" must be an integer`},
		{"read_file", `{"path":"README.md","offset":-1}`, "offset must not be negative"},
		{"read_file", `{"file_path":"README.md"}`, `unknown field "file_path"`},
		{"read_file", `{"path":"README.md"} {}`, "extra data"},
		{"write_file", `{"path":"x"}`, `missing required field "content"`},
		{"write_file", `{"content":"x"}`, `missing required field "path"`},
		{"edit_file", `{"path":"README.md","new_string":"x"}`, `missing required field "old_string"`},
		{"edit_file", `{"path":"README.md","old_string":"x"}`, `missing required field "new_string"`},
		{"delete_file", `{}`, `missing required field "path"`},
		{"list_files", `{"recursive":"yes"}`, `field "recursive" must be a boolean`},
		{"run", `{}`, `missing required field "argv"`},
		{"run", `{"argv":[]}`, `missing required field "argv"`},
		{"run", `{"argv":"ls -l"}`, `field "argv" must be an array`},
		{"run", `{"argv":[""]}`, "argv[0], the program, is empty"},
		{"finish", `{}`, `missing required field "summary"`},
		{"rm_rf", `{}`, `unknown tool "rm_rf"`},
	}
	for _, c := range cases {
		t.Run(c.tool+" "+c.input, func(t *testing.T) {
			res := do(t, b, c.tool, c.input)
			if !res.IsError || !strings.Contains(res.Output, c.want) {
				t.Fatalf("%+v, want %q", res, c.want)
			}
			if !strings.HasPrefix(res.Output, c.tool) && c.tool != "rm_rf" {
				t.Errorf("message does not name the tool: %q", res.Output)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	f := newFixture(t)
	b := &Box{Root: f.root, MaxReadBytes: 10}
	content := "0123456789abcdefghijKLMNOPQRSTuvw"
	mkfile(t, filepath.Join(f.root, "long.txt"), content)

	t.Run("cap and paging", func(t *testing.T) {
		res := do(t, b, "read_file", m{"path": "long.txt"})
		if res.IsError || !strings.HasPrefix(res.Output, "0123456789\n[cut: bytes 0-10 of 33") || !strings.Contains(res.Output, "offset=10") {
			t.Fatalf("%+v", res)
		}
		var got strings.Builder
		offset := 0
		for i := 0; i < 10; i++ {
			res := do(t, b, "read_file", m{"path": "long.txt", "offset": offset})
			if res.IsError {
				t.Fatalf("%+v", res)
			}
			text, note, cut := strings.Cut(res.Output, "\n[cut: ")
			got.WriteString(text)
			if !cut {
				break
			}
			var from, to, size int
			if _, err := fmt.Sscanf(note, "bytes %d-%d of %d", &from, &to, &size); err != nil || from != offset || size != len(content) {
				t.Fatalf("note %q: %v", note, err)
			}
			offset = to
		}
		if got.String() != content {
			t.Fatalf("paged %q", got.String())
		}
	})

	t.Run("limit", func(t *testing.T) {
		res := do(t, b, "read_file", m{"path": "long.txt", "offset": 5, "limit": 3})
		if !strings.HasPrefix(res.Output, "567\n[cut: bytes 5-8 of 33") {
			t.Fatalf("%+v", res)
		}
		res = do(t, b, "read_file", m{"path": "long.txt", "limit": 1000}) // still capped
		if !strings.HasPrefix(res.Output, "0123456789\n[cut:") {
			t.Fatalf("%+v", res)
		}
		res = do(t, b, "read_file", m{"path": "long.txt", "offset": 30})
		if res.IsError || res.Output != "uvw" {
			t.Fatalf("%+v", res)
		}
		res = do(t, b, "read_file", m{"path": "long.txt", "offset": 34})
		if !res.IsError || !strings.Contains(res.Output, "past the end") {
			t.Fatalf("%+v", res)
		}
	})

	t.Run("utf8 not split", func(t *testing.T) {
		mkfile(t, filepath.Join(f.root, "u.txt"), "abcdefghé123") // é is 2 bytes at 8-9
		res := do(t, b, "read_file", m{"path": "u.txt", "limit": 9})
		if !strings.HasPrefix(res.Output, "abcdefgh\n[cut: bytes 0-8 of 13") {
			t.Fatalf("%+v", res)
		}
	})

	t.Run("binary", func(t *testing.T) {
		mkfile(t, filepath.Join(f.root, "bin"), "ELF\x00\x01\x02garbage")
		res := do(t, b, "read_file", m{"path": "bin"})
		if !res.IsError || !strings.Contains(res.Output, "binary file") || strings.Contains(res.Output, "garbage") {
			t.Fatalf("%+v", res)
		}
	})

	t.Run("empty, directory, missing", func(t *testing.T) {
		mkfile(t, filepath.Join(f.root, "empty"), "")
		if res := do(t, b, "read_file", m{"path": "empty"}); res.IsError || res.Output != "[empty file]" {
			t.Fatalf("%+v", res)
		}
		if res := do(t, b, "read_file", m{"path": "sub"}); !res.IsError || !strings.Contains(res.Output, "is a directory") {
			t.Fatalf("%+v", res)
		}
		if res := do(t, b, "read_file", m{"path": "nope.txt"}); !res.IsError || res.Output != "read_file: nope.txt does not exist" {
			t.Fatalf("%+v", res)
		}
	})
}

func TestWriteAndEditLimits(t *testing.T) {
	f := newFixture(t)
	b := &Box{Root: f.root, MaxWriteBytes: 16}
	if res := do(t, b, "write_file", m{"path": "big", "content": strings.Repeat("x", 17)}); !res.IsError || !strings.Contains(res.Output, "at most 16 bytes") {
		t.Fatalf("%+v", res)
	}
	if _, err := os.Stat(filepath.Join(f.root, "big")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("big written")
	}
	if res := do(t, b, "write_file", m{"path": "ok", "content": ""}); res.IsError {
		t.Fatalf("empty content: %+v", res)
	}
	if res := do(t, b, "write_file", m{"path": "sub", "content": "x"}); !res.IsError || !strings.Contains(res.Output, "is a directory") {
		t.Fatalf("%+v", res)
	}
	if res := do(t, b, "write_file", m{"path": "README.md/x", "content": "x"}); !res.IsError {
		t.Fatalf("file as dir: %+v", res)
	}

	mkfile(t, filepath.Join(f.root, "e.txt"), "a b a c")
	cases := []struct {
		old, new, want string
	}{
		{"a", "z", "occurs 2 times"},
		{"q", "z", "0 occurrences"},
		{"", "z", "old_string is empty"},
		{"b", "b", "the same"},
		{"b", strings.Repeat("y", 20), "write cap"},
	}
	for _, c := range cases {
		res := do(t, b, "edit_file", m{"path": "e.txt", "old_string": c.old, "new_string": c.new})
		if !res.IsError || !strings.Contains(res.Output, c.want) {
			t.Fatalf("%q->%q: %+v, want %q", c.old, c.new, res, c.want)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(f.root, "e.txt")); string(got) != "a b a c" {
		t.Fatalf("edited anyway: %q", got)
	}
	if res := do(t, b, "edit_file", m{"path": "e.txt", "old_string": "b a", "new_string": ""}); res.IsError {
		t.Fatalf("%+v", res)
	}
	if got, _ := os.ReadFile(filepath.Join(f.root, "e.txt")); string(got) != "a  c" {
		t.Fatalf("after edit: %q", got)
	}
}

// TestSymlinksInside: links that stay in the checkout work; writes go to the
// target; delete_file removes the link, not its target.
func TestSymlinksInside(t *testing.T) {
	f := newFixture(t)
	symlink(t, "sub", filepath.Join(f.root, "s"))
	symlink(t, "../README.md", filepath.Join(f.root, "sub", "readme"))
	symlink(t, "/", filepath.Join(f.root, "escape"))
	b := &Box{Root: f.root}
	if res := do(t, b, "read_file", m{"path": "s/readme"}); res.IsError || res.Output != "# hello\n" {
		t.Fatalf("%+v", res)
	}
	res := do(t, b, "write_file", m{"path": "s/deeper/new.txt", "content": "n"})
	if res.IsError || !reflect.DeepEqual(res.Changed, []string{"sub/deeper/new.txt"}) {
		t.Fatalf("%+v", res)
	}
	res = do(t, b, "edit_file", m{"path": "s/readme", "old_string": "hello", "new_string": "bye"})
	if res.IsError || !reflect.DeepEqual(res.Changed, []string{"README.md"}) {
		t.Fatalf("%+v", res)
	}
	if res := do(t, b, "list_files", m{"path": "s"}); res.IsError || res.Output != "sub/a.go\nsub/deeper/\nsub/readme -> ../README.md" {
		t.Fatalf("%+v", res)
	}
	for _, p := range []string{"sub/readme", "escape"} {
		res = do(t, b, "delete_file", m{"path": p})
		if res.IsError || !reflect.DeepEqual(res.Changed, []string{p}) {
			t.Fatalf("%s: %+v", p, res)
		}
		if _, err := os.Lstat(filepath.Join(f.root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("link %s still there", p)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(f.root, "README.md")); string(got) != "# bye\n" {
		t.Fatalf("target: %q", got)
	}
	if _, err := os.Stat("/etc"); err != nil {
		t.Fatal(err)
	}
}

func TestListCap(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		mkfile(t, filepath.Join(f.root, "many", n), n)
	}
	b := &Box{Root: f.root, MaxListEntries: 3}
	for _, rec := range []bool{false, true} {
		res := do(t, b, "list_files", m{"path": "many", "recursive": rec})
		if res.IsError || res.Output != "many/a\nmany/b\nmany/c\n[listing cut at 3 entries; list a subdirectory to see the rest]" {
			t.Fatalf("recursive %v: %+v", rec, res)
		}
	}
	if res := do(t, b, "list_files", m{"path": "README.md"}); !res.IsError || !strings.Contains(res.Output, "use read_file") {
		t.Fatalf("%+v", res)
	}
	if err := os.Mkdir(filepath.Join(f.root, "void"), 0o755); err != nil {
		t.Fatal(err)
	}
	if res := do(t, b, "list_files", m{"path": "void"}); res.IsError || res.Output != "[empty directory]" {
		t.Fatalf("%+v", res)
	}
}

func TestContextAndRoot(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b := &Box{Root: f.root}
	if _, err := b.Do(ctx, "read_file", json.RawMessage(`{"path":"README.md"}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	// A Run that sees its context end: Do returns ctx's error.
	ctx, cancel = context.WithCancel(context.Background())
	b = &Box{Root: f.root, Allowed: allowAll, Run: func(context.Context, []string, string, time.Duration) (string, int, error) {
		cancel()
		return "", -1, context.Canceled
	}}
	if _, err := b.Do(ctx, "run", json.RawMessage(`{"argv":["x"]}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	for _, root := range []string{"", "relative/dir", filepath.Join(f.base, "missing")} {
		b := &Box{Root: root}
		if res := do(t, b, "list_files", nil); !res.IsError {
			t.Fatalf("root %q: %+v", root, res)
		}
	}
}

func TestSpecs(t *testing.T) {
	specs := Specs()
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if want := []string{"list_files", "read_file", "write_file", "edit_file", "delete_file", "run", "finish"}; !slices.Equal(names, want) {
		t.Fatalf("names %v", names)
	}
	required := map[string][]string{
		"list_files":  {},
		"read_file":   {"path"},
		"write_file":  {"path", "content"},
		"edit_file":   {"path", "old_string", "new_string"},
		"delete_file": {"path"},
		"run":         {"argv"},
		"finish":      {"summary"},
	}
	for _, s := range specs {
		if s.Description == "" || s.Parameters["type"] != "object" {
			t.Fatalf("%s: %+v", s.Name, s)
		}
		req, _ := s.Parameters["required"].([]string)
		if !slices.Equal(req, required[s.Name]) {
			t.Fatalf("%s required %v", s.Name, req)
		}
		props, _ := s.Parameters["properties"].(map[string]any)
		for _, r := range req {
			if _, ok := props[r]; !ok {
				t.Fatalf("%s: required %s not a property", s.Name, r)
			}
		}
		// Every property is accepted by Do (no unknown-field refusal) and
		// the schema is valid JSON.
		if _, err := json.Marshal(s.Parameters); err != nil {
			t.Fatal(err)
		}
	}
	// Specs returns fresh maps.
	specs[0].Parameters["type"] = "changed"
	if Specs()[0].Parameters["type"] != "object" {
		t.Fatal("Specs shares maps")
	}
}

// TestConcurrent: one Box serves concurrent calls (run with -race).
func TestConcurrent(t *testing.T) {
	f := newFixture(t)
	b := &Box{Root: f.root}
	done := make(chan Result)
	for i := 0; i < 8; i++ {
		go func() {
			res, _ := b.Do(context.Background(), "list_files", json.RawMessage(`{"recursive":true}`))
			done <- res
		}()
	}
	for i := 0; i < 8; i++ {
		if res := <-done; res.IsError {
			t.Fatalf("%+v", res)
		}
	}
}
