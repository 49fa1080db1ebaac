package artifacts

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPutGetList(t *testing.T) {
	ctx := context.Background()
	d := NewDir(filepath.Join(t.TempDir(), "art"))

	list, err := d.List(ctx, "wf-1")
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = d.Get(ctx, "wf-1", "design")
	assert.ErrorIs(t, err, ErrNotFound)

	ref, err := d.Put(ctx, "wf-1", "design", []byte("the design"))
	require.NoError(t, err)
	assert.Equal(t, Ref("wf-1/design"), ref)
	_, err = d.Put(ctx, "wf-1", "backend", []byte("first"))
	require.NoError(t, err)
	_, err = d.Put(ctx, "wf-1", "backend", []byte("second attempt"))
	require.NoError(t, err)
	_, err = d.Put(ctx, "wf-2", "backend", []byte("other run"))
	require.NoError(t, err)

	got, err := d.Get(ctx, "wf-1", "backend")
	require.NoError(t, err)
	assert.Equal(t, "second attempt", string(got))

	list, err = d.List(ctx, "wf-1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "backend", list[0].Node)
	assert.Equal(t, int64(len("second attempt")), list[0].Bytes)
	assert.Equal(t, Ref("wf-1/backend"), list[0].Ref)
	assert.False(t, list[0].ModTime.IsZero())
	assert.Equal(t, "design", list[1].Node)

	// No temporary files are left behind.
	entries, err := os.ReadDir(filepath.Join(d.Root(), "wf-1"))
	require.NoError(t, err)
	assert.Len(t, entries, 2)
}

func TestKeysCannotLeaveTheRoot(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	root := filepath.Join(base, "art")
	d := NewDir(root)

	for _, k := range []struct{ wf, node string }{
		{"../escape", "n"},
		{"wf", "../../escape"},
		{"a/b/../../..", "n"},
		{"/etc", "passwd"},
		{"wf", ".hidden"},
		{`..\..\x`, "n"},
		{"maestro run: 1/2 ✓", "n"},
	} {
		_, err := d.Put(ctx, k.wf, k.node, []byte("x"))
		require.NoError(t, err, "%q/%q", k.wf, k.node)
		got, err := d.Get(ctx, k.wf, k.node)
		require.NoError(t, err)
		assert.Equal(t, "x", string(got))
		list, err := d.List(ctx, k.wf)
		require.NoError(t, err)
		assert.True(t, slices.ContainsFunc(list, func(i Info) bool { return i.Node == k.node }),
			"node IDs round-trip through file names: %q in %v", k.node, list)
	}
	// Everything is inside root, one level of run directories, and nothing
	// was written next to it.
	siblings, err := os.ReadDir(base)
	require.NoError(t, err)
	require.Len(t, siblings, 1)
	require.NoError(t, filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		assert.LessOrEqual(t, len(strings.Split(rel, string(filepath.Separator))), 2, rel)
		assert.False(t, strings.HasPrefix(filepath.Base(p), "."), rel)
		return nil
	}))

	for _, k := range []struct{ wf, node string }{
		{"", "n"}, {"wf", ""}, {".", "n"}, {"wf", ".."}, {"wf", "a\x00b"},
		{"wf", "line\nbreak"}, {strings.Repeat("x", MaxKeyLength+1), "n"}, {"wf", "\xff"},
	} {
		_, err := d.Put(ctx, k.wf, k.node, []byte("x"))
		assert.ErrorIs(t, err, ErrInvalidKey, "%q/%q", k.wf, k.node)
		_, err = d.Get(ctx, k.wf, k.node)
		assert.ErrorIs(t, err, ErrInvalidKey, "%q/%q", k.wf, k.node)
	}
	_, err = d.List(ctx, "..")
	assert.ErrorIs(t, err, ErrInvalidKey)
}

func TestConcurrentWritersNeverShowPartialContent(t *testing.T) {
	ctx := context.Background()
	d := NewDir(t.TempDir())
	a := []byte(strings.Repeat("a", 1<<20))
	b := []byte(strings.Repeat("b", 1<<20))
	_, err := d.Put(ctx, "wf", "n", a)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			content := a
			if i%2 == 1 {
				content = b
			}
			for range 5 {
				_, err := d.Put(ctx, "wf", "n", content)
				assert.NoError(t, err)
			}
		}()
	}
	for range 20 {
		got, err := d.Get(ctx, "wf", "n")
		require.NoError(t, err)
		require.Len(t, got, 1<<20)
		require.True(t, string(got) == string(a) || string(got) == string(b), "mixed content")
	}
	wg.Wait()
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := NewDir(t.TempDir())
	_, err := d.Put(ctx, "wf", "n", []byte("x"))
	assert.True(t, errors.Is(err, context.Canceled))
}

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		ref      Ref
		wf, node string
		ok       bool
	}{
		{"wf-1/design", "wf-1", "design", true},
		{"a/b/c/node", "a/b/c", "node", true},
		{"nodeonly", "", "", false},
		{"/node", "", "", false},
		{"wf/", "", "", false},
		{"", "", "", false},
	} {
		wf, node, ok := ParseRef(tc.ref)
		assert.Equal(t, tc.ok, ok, tc.ref)
		assert.Equal(t, tc.wf, wf, tc.ref)
		assert.Equal(t, tc.node, node, tc.ref)
	}
	r, err := NewDir(t.TempDir()).Put(context.Background(), "x/y", "n", []byte("z"))
	require.NoError(t, err)
	wf, node, ok := ParseRef(r)
	assert.True(t, ok)
	assert.Equal(t, "x/y", wf)
	assert.Equal(t, "n", node)
}
