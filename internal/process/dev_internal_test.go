package process

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/devserver"
)

// A CLI talking to this machine's `maestro dev` gives template runs a
// repository of their own too; talking to another server, it does not.
func TestTalksToDev(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Config{}
	cfg.Dev.DataDir = dir
	cfg.Dev.TemporalAddr = "127.0.0.1:7233"
	cfg.Client.HostPort = "localhost:7233"
	assert.False(t, talksToDev(cfg), "no dev database in the data directory")
	require.NoError(t, os.WriteFile(filepath.Join(dir, devserver.DatabaseFile), nil, 0o644))
	assert.True(t, talksToDev(cfg), "localhost is dev's loopback address")
	assert.Equal(t, filepath.Join(dir, "repos"), templateRepos(cfg))
	cfg.Client.HostPort = "localhost:7234"
	assert.False(t, talksToDev(cfg), "another port")
	cfg.Client.HostPort = "temporal.example.com:7233"
	assert.False(t, talksToDev(cfg), "another host")
	assert.Empty(t, templateRepos(cfg))
}
