package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// ModelPrice is a model's price in US dollars per million tokens, as the
// prices file gives it.
type ModelPrice struct {
	Input      float64 `yaml:"input"`
	Output     float64 `yaml:"output"`
	CacheRead  float64 `yaml:"cache_read"`
	CacheWrite float64 `yaml:"cache_write"`
}

// LoadPrices reads a prices file (MAESTRO_PRICES_FILE): a YAML or JSON map
// from model-name prefix to prices, e.g.
//
//	claude-sonnet-4: {input: 3, output: 15, cache_read: 0.3, cache_write: 3.75}
//
// An empty path returns nil. Unknown fields and negative prices are errors.
func LoadPrices(path string) (map[string]ModelPrice, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvPricesFile, err)
	}
	return ParsePrices(data)
}

// ParsePrices parses the content of a prices file.
func ParsePrices(data []byte) (map[string]ModelPrice, error) {
	var m map[string]ModelPrice
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: %w", EnvPricesFile, err)
	}
	var errs []error
	for k, p := range m {
		if strings.TrimSpace(k) == "" {
			errs = append(errs, fmt.Errorf("%s: an empty model name", EnvPricesFile))
		}
		for name, v := range map[string]float64{"input": p.Input, "output": p.Output, "cache_read": p.CacheRead, "cache_write": p.CacheWrite} {
			if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
				errs = append(errs, fmt.Errorf("%s: %s.%s: want a non-negative price, got %v", EnvPricesFile, k, name, v))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}
