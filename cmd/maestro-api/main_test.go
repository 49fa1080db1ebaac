package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/testenv"
)

func TestServesTheAPIFromTheEnvironmentAndStopsGracefully(t *testing.T) {
	srv := testenv.Start()
	defer srv.Stop()
	env := config.MapEnv{
		"TEMPORAL_ADDRESS":   srv.HostPort(),
		"TEMPORAL_NAMESPACE": srv.Namespace(),
		config.EnvTaskQueue:  "api-main-test",
		EnvToken:             "tok",
		EnvAddr:              "127.0.0.1:1", // overridden by --listen
		"MAESTRO_LOG_LEVEL":  "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--listen", "127.0.0.1:0"}, io.Discard, env, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	resp, err := http.Get("http://" + addr + "/health")
	require.NoError(t, err)
	var h api.Health
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&h))
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, h.Temporal.Reachable)
	assert.Equal(t, srv.Namespace(), h.Temporal.Namespace)
	assert.Equal(t, "api-main-test", h.Temporal.TaskQueue)

	resp, err = http.Get("http://" + addr + "/api/templates")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "MAESTRO_API_TOKEN guards the API")

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}

func TestBadConfigurationIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  config.MapEnv
		want string
	}{
		{"rate limit", nil, config.MapEnv{EnvRateLimit: "fast"}, EnvRateLimit},
		{"unknown flag", []string{"--port", "1"}, config.MapEnv{}, "port"},
		{"stray argument", []string{"serve"}, config.MapEnv{}, "unexpected"},
		{"listen address", []string{"--listen", "256.0.0.1:99999"}, config.MapEnv{}, "listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			err := run(context.Background(), tc.args, &stderr, tc.env, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error()+stderr.String(), tc.want)
		})
	}
}
