// Package process wires Maestro's processes together from configuration, in
// one place: the worker, the REST API and `maestro dev` (all three in one
// process), and the pieces they share — logging, the Temporal client, the
// runs service and metrics. The CLI, the tiny mains and the test
// environment all build their processes here.
package process

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/runs"
)

// DialTimeout bounds connecting to Temporal.
const DialTimeout = 15 * time.Second

// NewLogger returns a logger writing to w as l asks (text or JSON); def is
// the level when none is configured.
func NewLogger(w io.Writer, l config.Log, def slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: l.LevelOr(def)}
	if l.JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// ClientOptions returns cfg's Temporal client options with logger and, when
// not nil, the metrics handler set.
func ClientOptions(cfg config.Config, logger *slog.Logger, metrics client.MetricsHandler) client.Options {
	opts := cfg.Client
	opts.Logger = sdklog.NewStructuredLogger(logger)
	if metrics != nil {
		opts.MetricsHandler = metrics
	}
	return opts
}

// Dial connects to Temporal as cfg says, within DialTimeout.
func Dial(ctx context.Context, cfg config.Config, logger *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	c, err := client.DialContext(ctx, ClientOptions(cfg, logger, metrics))
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", cfg.Client.HostPort, cfg.Client.Namespace, err)
	}
	return c, nil
}

// Runs returns the runs service every entry point starts and inspects runs
// with.
func Runs(c client.Client, cfg config.Config) *runs.Service {
	return runs.New(c, runsConfig(cfg))
}

// runsConfig is the runs service's configuration for cfg.
func runsConfig(cfg config.Config) runs.Config {
	return runs.Config{
		Namespace:     cfg.Client.Namespace,
		Address:       cfg.Client.HostPort,
		TaskQueue:     cfg.TaskQueue,
		DefaultMode:   dag.Mode(cfg.DefaultMode),
		DataConverter: cfg.Client.DataConverter,
	}
}
