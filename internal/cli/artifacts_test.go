package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/config"
)

func TestArtifactsCommand(t *testing.T) {
	dir := t.TempDir()
	store := artifacts.NewDir(dir)
	_, err := store.Put(t.Context(), "run-1", "design", []byte("the design\n"))
	require.NoError(t, err)
	_, err = store.Put(t.Context(), "run-1", "requirements", []byte(strings.Repeat("r", 100)))
	require.NoError(t, err)
	env := config.MapEnv{config.EnvArtifactDir: dir}

	r := runCLI(t, env, "artifacts", "run-1")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `(?m)^design\s+11\s`, r.stdout)
	assert.Regexp(t, `(?m)^requirements\s+100\s`, r.stdout)

	r = runCLI(t, env, "artifacts", "run-1", "design")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "the design\n", r.stdout)

	out := filepath.Join(t.TempDir(), "saved")
	r = runCLI(t, env, "artifacts", "run-1", "--out", out)
	require.Equal(t, 0, r.code, r.stderr)
	b, err := os.ReadFile(filepath.Join(out, "design.txt"))
	require.NoError(t, err)
	assert.Equal(t, "the design\n", string(b))

	// One node's artifact, saved rather than printed.
	one := filepath.Join(t.TempDir(), "one")
	r = runCLI(t, env, "artifacts", "run-1", "requirements", "--out", one)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, filepath.Join(one, "requirements.txt")+"\n", r.stdout)
	b, err = os.ReadFile(filepath.Join(one, "requirements.txt"))
	require.NoError(t, err)
	assert.Len(t, b, 100)
	_, err = os.Stat(filepath.Join(one, "design.txt"))
	assert.True(t, os.IsNotExist(err), "only the node asked for")

	r = runCLI(t, env, "artifacts", "run-1", "nope")
	assert.Equal(t, 1, r.code)
	r = runCLI(t, env, "artifacts", "run-2")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "no artifacts for run-2")
	r = runCLI(t, env, "artifacts")
	assert.Equal(t, 2, r.code)
}
