package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadPrices(t *testing.T) {
	dir := t.TempDir()
	yml := filepath.Join(dir, "prices.yaml")
	require.NoError(t, os.WriteFile(yml, []byte("fake-model: {input: 2, output: 10, cache_read: 0.5}\n"), 0o600))
	m, err := LoadPrices(yml)
	require.NoError(t, err)
	assert.Equal(t, map[string]ModelPrice{"fake-model": {Input: 2, Output: 10, CacheRead: 0.5}}, m)

	js := filepath.Join(dir, "prices.json")
	require.NoError(t, os.WriteFile(js, []byte(`{"gpt-5": {"input": 1, "output": 2}}`), 0o600))
	m, err = LoadPrices(js)
	require.NoError(t, err)
	assert.Equal(t, 2.0, m["gpt-5"].Output)

	_, err = ParsePrices([]byte("x: {input: -1, output: 1}"))
	assert.ErrorContains(t, err, "x.input")
	_, err = ParsePrices([]byte("x: {inptu: 1}"))
	assert.ErrorContains(t, err, EnvPricesFile)
	m, err = ParsePrices(nil)
	require.NoError(t, err)
	assert.Empty(t, m)
	m, err = LoadPrices("")
	require.NoError(t, err)
	assert.Nil(t, m)
	_, err = LoadPrices(filepath.Join(dir, "missing"))
	assert.ErrorContains(t, err, EnvPricesFile)

	c, err := Load(MapEnv{EnvPricesFile: " " + yml + " "})
	require.NoError(t, err)
	assert.Equal(t, yml, c.PricesFile)
}
