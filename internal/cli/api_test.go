package cli

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
)

func TestAPIServesFromTheEnvironmentAndStopsGracefully(t *testing.T) {
	srv := temporalServer()
	env := config.MapEnv{
		"TEMPORAL_ADDRESS":   srv.HostPort(),
		"TEMPORAL_NAMESPACE": srv.Namespace(),
		config.EnvTaskQueue:  "api-main-test",
		config.EnvAPIToken:   "tok",
		config.EnvAPIAddr:    "127.0.0.1:1", // overridden by --listen
		"MAESTRO_LOG_LEVEL":  "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runMain(ctx, io.Discard, env, ready, "api", "--listen", "127.0.0.1:0") }()
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

func TestAPIBadConfigurationIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  config.MapEnv
		want string
	}{
		{"rate limit", nil, config.MapEnv{config.EnvAPIRateLimit: "fast"}, config.EnvAPIRateLimit},
		{"unknown flag", []string{"--port", "1"}, config.MapEnv{}, "port"},
		{"stray argument", []string{"serve"}, config.MapEnv{}, "unexpected"},
		{"listen address", []string{"--listen", "256.0.0.1:99999"}, config.MapEnv{}, "listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			err := runMain(context.Background(), &stderr, tc.env, nil, append([]string{"api"}, tc.args...)...)
			require.Error(t, err)
			assert.Contains(t, err.Error()+stderr.String(), tc.want)
		})
	}
}
