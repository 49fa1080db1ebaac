package process

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/config"
)

// A CLI talking to the `maestro dev` running on its data directory gives
// template runs a repository of their own too; talking to another server,
// it does not.
func TestTalksToDev(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Config{}
	cfg.Dev.DataDir = dir
	cfg.Client.HostPort = "localhost:27233"
	assert.False(t, talksToDev(cfg), "no dev running on the data directory")
	require.NoError(t, os.WriteFile(filepath.Join(dir, DevAddrFile), []byte("127.0.0.1:27233\n"), 0o644))
	assert.True(t, talksToDev(cfg), "localhost is dev's loopback address, on dev's port")
	assert.Equal(t, filepath.Join(dir, "repos"), templateRepos(cfg))
	cfg.Client.HostPort = "localhost:7233"
	assert.False(t, talksToDev(cfg), "another port")
	cfg.Client.HostPort = "temporal.example.com:27233"
	assert.False(t, talksToDev(cfg), "another host")
	assert.Empty(t, templateRepos(cfg))
}
