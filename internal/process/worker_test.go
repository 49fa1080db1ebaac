package process_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/process"
)

// The worker's prices are the built-in ones with MAESTRO_PRICES_FILE over
// them; a bad file stops the worker.
func TestActivitiesPrices(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "prices.yaml")
	require.NoError(t, os.WriteFile(file, []byte("my-model: {input: 1, output: 2}\nclaude-sonnet-4: {input: 9, output: 9}\n"), 0o600))
	cfg, err := config.Load(config.MapEnv{config.EnvPricesFile: file, config.EnvDataDir: dir})
	require.NoError(t, err)
	acts, err := process.Activities(cfg, slog.Default(), process.WorkerOptions{})
	require.NoError(t, err)
	p, ok := acts.Prices.Lookup("my-model-7b")
	require.True(t, ok)
	assert.Equal(t, 2.0, p.Output)
	p, _ = acts.Prices.Lookup("claude-sonnet-4-5")
	assert.Equal(t, 9.0, p.Input, "the file overrides the built-in price")
	_, ok = acts.Prices.Lookup("gpt-5")
	assert.True(t, ok, "built-in prices stay")

	require.NoError(t, os.WriteFile(file, []byte("my-model: {input: -1}\n"), 0o600))
	_, err = process.Activities(cfg, slog.Default(), process.WorkerOptions{})
	assert.ErrorContains(t, err, config.EnvPricesFile)
}
