// Command maestro-api serves Maestro's REST API (package api). Its
// configuration comes from the environment (see package config, plus the
// MAESTRO_API_* variables below) and flags that override it:
//
//	maestro-api [--listen host:port] [--address host:port] [--namespace ns] [--task-queue q]
//
// MAESTRO_API_ADDR is the listen address (default 127.0.0.1:8080);
// MAESTRO_API_TOKEN, when set, is the bearer token every endpoint but /health
// requires; MAESTRO_API_CORS_ORIGINS is a comma-separated list of origins
// allowed by CORS; MAESTRO_API_RATE_LIMIT is the requests per second allowed
// per client IP (0 or negative disables rate limiting).
//
// It connects to Temporal lazily, so it starts (and /health answers 503)
// while Temporal is down, and stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/cli"
	"github.com/maestrohq/maestro/metrics"
	"github.com/maestrohq/maestro/runs"
)

// Environment variables of the API process (see package api).
const (
	EnvAddr        = api.EnvAddr
	EnvToken       = api.EnvToken
	EnvCORSOrigins = api.EnvCORSOrigins
	EnvRateLimit   = api.EnvRateLimit
)

// DefaultAddr is the listen address unless configured.
const DefaultAddr = api.DefaultAddr

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 15 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr, config.OSEnv, nil)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "maestro-api:", err)
		os.Exit(1)
	}
}

// run reads the configuration, connects to Temporal and serves the API until
// ctx is done. When ready is not nil, it receives the listener's address once
// the server accepts connections.
func run(ctx context.Context, args []string, stderr io.Writer, env config.Env, ready chan<- string) error {
	logger, err := cli.NewLogger(stderr, env, slog.LevelInfo)
	if err != nil {
		return err
	}
	cfg, err := config.Load(env)
	if err != nil {
		return err
	}
	getenv := func(k string) string { v, _ := env.LookupEnv(k); return strings.TrimSpace(v) }
	addr := getenv(EnvAddr)
	if addr == "" {
		addr = DefaultAddr
	}
	rateLimit := float64(api.DefaultRateLimit)
	if v := getenv(EnvRateLimit); v != "" {
		if rateLimit, err = strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%s: %q is not a number", EnvRateLimit, v)
		}
		if rateLimit <= 0 {
			rateLimit = -1
		}
	}
	var origins []string
	for o := range strings.SplitSeq(getenv(EnvCORSOrigins), ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}

	fs := flag.NewFlagSet("maestro-api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&addr, "listen", addr, "`host:port` to serve on (env "+EnvAddr+")")
	fs.StringVar(&cfg.Client.HostPort, "address", cfg.Client.HostPort, "Temporal frontend `host:port` (env TEMPORAL_ADDRESS)")
	fs.StringVar(&cfg.Client.Namespace, "namespace", cfg.Client.Namespace, "Temporal `namespace` (env TEMPORAL_NAMESPACE)")
	fs.StringVar(&cfg.TaskQueue, "task-queue", cfg.TaskQueue, "task `queue` runs are started on (env "+config.EnvTaskQueue+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}

	// One registry for the SDK client's metrics and the API's, on /metrics.
	m, err := metrics.New(metrics.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer func() { _ = m.Shutdown(context.Background()) }()
	cfg.Client.Logger = sdklog.NewStructuredLogger(logger)
	cfg.Client.MetricsHandler = m.SDKHandler()
	c, err := client.NewLazyClient(cfg.Client)
	if err != nil {
		return fmt.Errorf("create a Temporal client for %s (namespace %s): %w", cfg.Client.HostPort, cfg.Client.Namespace, err)
	}
	defer c.Close()

	srv, err := api.New(api.Config{
		Runs:        runs.New(c, runs.Config{Namespace: cfg.Client.Namespace, TaskQueue: cfg.TaskQueue, DefaultMode: cfg.DefaultMode, Agent: cfg.Agent.Configured()}),
		Namespace:   cfg.Client.Namespace,
		Artifacts:   artifacts.NewDir(cfg.ArtifactDir),
		Logger:      logger,
		Token:       getenv(EnvToken),
		CORSOrigins: origins,
		RateLimit:   rateLimit,
		Registerer:  m.Registerer(),
		Gatherer:    m.Gatherer(),
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	logger.Info("API listening",
		"addr", l.Addr().String(),
		"temporal_address", cfg.Client.HostPort,
		"namespace", cfg.Client.Namespace,
		"task_queue", cfg.TaskQueue,
		"auth", getenv(EnvToken) != "",
		"cors_origins", origins)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	if ready != nil {
		ready <- l.Addr().String()
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("API shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("API stopped")
	return nil
}
