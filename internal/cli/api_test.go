package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
		{"listen address", []string{"--listen", "127.0.0.1:99999"}, config.MapEnv{}, "listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			err := runMain(context.Background(), &stderr, tc.env, nil, append([]string{"api"}, tc.args...)...)
			require.Error(t, err)
			assert.Contains(t, err.Error()+stderr.String(), tc.want)
		})
	}
}

// TestAPINeverListensBeyondLoopbackWithoutAToken runs `maestro api` and
// `maestro dev` through the CLI's entry point: beyond loopback without
// MAESTRO_API_TOKEN both refuse to start, naming the variable and the
// address, unless --insecure (logged as a warning) overrides; loopback
// addresses and a token start.
func TestAPINeverListensBeyondLoopbackWithoutAToken(t *testing.T) {
	const token = "s3cret-token-value"
	tokensFile := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(tokensFile, []byte("read:"+token+"\n"), 0o600))
	emptyFile := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(emptyFile, []byte("# nobody yet\n"), 0o600))
	for _, tc := range []struct {
		name   string
		args   []string
		env    config.MapEnv
		refuse string // the refused address; "" means it starts
		warns  bool   // the --insecure warning is logged
	}{
		{"all interfaces", []string{"--listen", "0.0.0.0:0"}, nil, "0.0.0.0:0", false},
		{"empty host", []string{"--listen", ":0"}, nil, ":0", false},
		{"all IPv6 interfaces", []string{"--listen", "[::]:0"}, nil, "[::]:0", false},
		{"from the environment", nil, config.MapEnv{config.EnvAPIAddr: "0.0.0.0:0"}, "0.0.0.0:0", false},
		{"a host name", []string{"--listen", "example.com:0"}, nil, "example.com:0", false},
		{"a blank token is none", []string{"--listen", "0.0.0.0:0"}, config.MapEnv{config.EnvAPIToken: "  "}, "0.0.0.0:0", false},
		{"with a token", []string{"--listen", "0.0.0.0:0"}, config.MapEnv{config.EnvAPIToken: token}, "", false},
		{"with a read token in a file", []string{"--listen", "0.0.0.0:0"}, config.MapEnv{config.EnvAPITokensFile: tokensFile}, "", false},
		{"with an operate token in the list", []string{"--listen", "0.0.0.0:0"}, config.MapEnv{config.EnvAPITokens: "operate:" + token}, "", false},
		{"with a tokens file holding none", []string{"--listen", "0.0.0.0:0"}, config.MapEnv{config.EnvAPITokensFile: emptyFile}, "0.0.0.0:0", false},
		{"insecure", []string{"--listen", "0.0.0.0:0", "--insecure"}, nil, "", true},
		{"loopback", []string{"--listen", "127.0.0.1:0"}, nil, "", false},
		{"localhost", []string{"--listen", "localhost:0"}, nil, "", false},
		{"IPv6 loopback", []string{"--listen", "[::1]:0"}, nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := config.MapEnv{"MAESTRO_LOG_LEVEL": "warn", "TEMPORAL_ADDRESS": "127.0.0.1:1"}
			for k, v := range tc.env {
				env[k] = v
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stderr syncWriter
			ready := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- runMain(ctx, &stderr, env, ready, append([]string{"api"}, tc.args...)...) }()
			if tc.refuse != "" {
				select {
				case err := <-done:
					require.Error(t, err)
					assert.Contains(t, err.Error(), "refusing to listen on "+tc.refuse+" without "+config.EnvAPIToken)
					assert.Contains(t, err.Error(), "--insecure")
				case addr := <-ready:
					t.Fatalf("the API started on %s", addr)
				case <-time.After(10 * time.Second):
					t.Fatal("neither refused nor started")
				}
				return
			}
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("did not start: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("did not start")
			}
			cancel()
			require.NoError(t, <-done)
			if tc.warns {
				assert.Contains(t, stderr.String(), "beyond loopback without a token (--insecure)")
			} else {
				assert.NotContains(t, stderr.String(), "--insecure")
			}
			assert.NotContains(t, stderr.String(), token)
		})
	}

	// maestro dev follows the same rule (the same function) before it
	// starts anything. Past the rule, an unusable Temporal address stops
	// it, which shows that the rule let it through.
	for _, tc := range []struct {
		name   string
		args   []string
		env    config.MapEnv
		refuse bool
		warns  bool
	}{
		{"dev beyond loopback", []string{"--api-listen", "0.0.0.0:0"}, nil, true, false},
		{"dev from the environment", nil, config.MapEnv{config.EnvAPIAddr: ":8080"}, true, false},
		{"dev with a token", []string{"--api-listen", "0.0.0.0:0"}, config.MapEnv{config.EnvAPIToken: token}, false, false},
		{"dev insecure", []string{"--api-listen", "0.0.0.0:0", "--insecure"}, nil, false, true},
		{"dev without the API", []string{"--api-listen", ""}, config.MapEnv{config.EnvAPIAddr: "0.0.0.0:0"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := config.MapEnv{"MAESTRO_LOG_LEVEL": "warn", config.EnvDataDir: t.TempDir()}
			for k, v := range tc.env {
				env[k] = v
			}
			var stderr syncWriter
			args := append([]string{"dev", "--temporal-listen", "127.0.0.1:99999", "--ui-listen", ""}, tc.args...)
			err := runMain(context.Background(), &stderr, env, nil, args...)
			require.Error(t, err)
			if tc.refuse {
				assert.Contains(t, err.Error(), "without "+config.EnvAPIToken)
				entries, rerr := os.ReadDir(env[config.EnvDataDir])
				require.NoError(t, rerr)
				assert.Empty(t, entries, "nothing was started")
				return
			}
			assert.NotContains(t, err.Error(), "refusing")
			assert.Contains(t, err.Error(), "127.0.0.1:99999", "it went on to start Temporal")
			assert.Equal(t, tc.warns, strings.Contains(stderr.String(), "beyond loopback without a token (--insecure)"))
		})
	}
}

// syncWriter is a strings.Builder safe for concurrent writes.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestConfigSaysTheAPIWouldRefuse: maestro config tells of the rule for an
// address beyond loopback without a token.
func TestConfigSaysTheAPIWouldRefuse(t *testing.T) {
	r := runCLI(t, config.MapEnv{config.EnvAPIAddr: "0.0.0.0:8080"}, "config")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Contains(t, r.stdout, "NOT SET: `maestro api` refuses to serve 0.0.0.0:8080, beyond loopback, without it (unless --insecure); set MAESTRO_API_TOKEN")
	r = runCLI(t, config.MapEnv{config.EnvAPIAddr: "0.0.0.0:8080", config.EnvAPIToken: "t0ken-value"}, "config")
	require.Equal(t, 0, r.code, r.stderr)
	assert.NotContains(t, r.stdout, "refuses")
	assert.NotContains(t, r.stdout, "t0ken-value")
}

// TestAPIServesTokenRolesFromTheEnvironment runs `maestro api` with a read
// token in MAESTRO_API_TOKENS_FILE (a real file) and an operate token in
// MAESTRO_API_TOKENS: each role gets what it may (read: GET, operate:
// validate) and a 403 beyond it (/metrics is admin only), no token a 401,
// and the process log holds no token.
func TestAPIServesTokenRolesFromTheEnvironment(t *testing.T) {
	const readTok, operateTok = "file-read-t0ken-123", "env-operate-t0ken-456"
	srv := temporalServer()
	file := filepath.Join(t.TempDir(), "tokens")
	require.NoError(t, os.WriteFile(file, []byte("# readers\nread:"+readTok+"\n"), 0o600))
	env := config.MapEnv{
		"TEMPORAL_ADDRESS":      srv.HostPort(),
		"TEMPORAL_NAMESPACE":    srv.Namespace(),
		config.EnvTaskQueue:     "api-roles-test",
		config.EnvAPITokensFile: file,
		config.EnvAPITokens:     "operate:" + operateTok,
		"MAESTRO_LOG_LEVEL":     "debug",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncWriter
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runMain(ctx, &stderr, env, ready, "api", "--listen", "127.0.0.1:0") }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	call := func(method, path, token string) int {
		req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(`{"template": "sdlc-parallel", "requirement": "x"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{http.MethodGet, "/api/templates", "", http.StatusUnauthorized},
		{http.MethodGet, "/api/templates", readTok, http.StatusOK},
		{http.MethodGet, "/api/templates", operateTok, http.StatusOK},
		{http.MethodPost, "/api/dags/validate", readTok, http.StatusForbidden},
		{http.MethodPost, "/api/dags/validate", operateTok, http.StatusOK},
		{http.MethodGet, "/metrics", operateTok, http.StatusForbidden},
		{http.MethodGet, "/health", "", http.StatusOK},
	} {
		assert.Equal(t, tc.want, call(tc.method, tc.path, tc.token), "%s %s", tc.method, tc.path)
	}
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
	logs := stderr.String()
	assert.Contains(t, logs, "API listening")
	assert.NotContains(t, logs, readTok)
	assert.NotContains(t, logs, operateTok)
}
