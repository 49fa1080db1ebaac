// Package cli holds what Maestro's command-line programs share: logger setup
// from the environment.
package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/maestrohq/maestro/config"
)

// EnvLogFormat selects the log format: "json" for one JSON object per line,
// anything else (or unset) for text. The level comes from config.EnvLogLevel.
const EnvLogFormat = "MAESTRO_LOG_FORMAT"

// NewLogger returns a logger writing to w in the format and at the level the
// environment asks for (MAESTRO_LOG_FORMAT, MAESTRO_LOG_LEVEL); def is the
// level when MAESTRO_LOG_LEVEL is unset. An unknown level is an error.
func NewLogger(w io.Writer, env config.Env, def slog.Level) (*slog.Logger, error) {
	level := def
	if v, ok := env.LookupEnv(config.EnvLogLevel); ok && strings.TrimSpace(v) != "" {
		l, err := ParseLevel(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.EnvLogLevel, err)
		}
		level = l
	}
	opts := &slog.HandlerOptions{Level: level}
	if v, _ := env.LookupEnv(EnvLogFormat); strings.EqualFold(strings.TrimSpace(v), "json") {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// ParseLevel reads debug, info, warn (or warning) or error, in any case.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
}
