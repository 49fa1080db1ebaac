//go:build unix

package codetools

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFIFORefused: a named pipe is not read or written (opening it would
// block the worker).
func TestFIFORefused(t *testing.T) {
	f := newFixture(t)
	if err := syscall.Mkfifo(filepath.Join(f.root, "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	b := &Box{Root: f.root}
	for _, c := range []struct {
		tool  string
		input m
	}{
		{"read_file", m{"path": "pipe"}},
		{"write_file", m{"path": "pipe", "content": "x"}},
		{"edit_file", m{"path": "pipe", "old_string": "a", "new_string": "b"}},
	} {
		if res := do(t, b, c.tool, c.input); !res.IsError || !strings.Contains(res.Output, "not a regular file") {
			t.Fatalf("%s: %+v", c.tool, res)
		}
	}
}
