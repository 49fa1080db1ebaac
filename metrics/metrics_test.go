package metrics_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/metrics"
)

// scrape GETs url and returns the body.
func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}

// TestEndpoint checks that what goes through the SDK handler, a Prometheus
// collector registered by other code and the runtime collectors all appear
// on one endpoint under Prometheus names, with duration buckets in seconds.
func TestEndpoint(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	srv, err := m.Listen("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
		assert.NoError(t, m.Shutdown(ctx))
	})
	assert.True(t, strings.HasPrefix(srv.URL(), "http://127.0.0.1:"), srv.URL())
	assert.True(t, strings.HasSuffix(srv.URL(), "/metrics"), srv.URL())

	h := m.SDKHandler().WithTags(map[string]string{"phase": "backend"})
	h.Counter("maestro_test_things").Inc(3)
	h.Timer("maestro_test_duration").Record(1500 * time.Millisecond)
	h.Gauge("maestro_test_level").Update(7)
	api := prometheus.NewCounter(prometheus.CounterOpts{Name: "maestro_test_api_requests_total", Help: "test"})
	require.NoError(t, m.Registerer().Register(api))
	api.Add(2)

	body := scrape(t, srv.URL())
	assert.Contains(t, body, "# TYPE maestro_test_things_total counter\n")
	assert.Contains(t, body, `maestro_test_things_total{phase="backend"} 3`+"\n")
	assert.Contains(t, body, "# TYPE maestro_test_duration_seconds histogram\n")
	assert.Contains(t, body, `maestro_test_duration_seconds_bucket{phase="backend",le="1"} 0`+"\n")
	assert.Contains(t, body, `maestro_test_duration_seconds_bucket{phase="backend",le="2.5"} 1`+"\n")
	assert.Contains(t, body, `maestro_test_duration_seconds_bucket{phase="backend",le="3600"} 1`+"\n")
	assert.Contains(t, body, `maestro_test_duration_seconds_sum{phase="backend"} 1.5`+"\n")
	assert.Contains(t, body, `maestro_test_level{phase="backend"} 7`+"\n")
	assert.Contains(t, body, "maestro_test_api_requests_total 2\n")
	assert.Contains(t, body, "go_goroutines ")
	assert.Contains(t, body, "process_start_time_seconds ")
	assert.NotContains(t, body, "otel_scope", "scope labels only add noise")
	assert.NotContains(t, body, "target_info")

	// The Gatherer sees the same registry.
	families, err := m.Gatherer().Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	assert.Contains(t, names, "maestro_test_things_total")

	// Only GET /metrics is served.
	resp, err := http.Get("http://" + srv.Addr() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// TestHandlerMounts checks that Handler serves on a mux of the caller's (as
// the API mounts it).
func TestHandlerMounts(t *testing.T) {
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	m.SDKHandler().Counter("maestro_test_mounted").Inc(1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(metrics.Path, m.Handler())
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	assert.Contains(t, scrape(t, "http://"+ln.Addr().String()+metrics.Path), "maestro_test_mounted_total 1\n")
}

// TestListenTaken checks that an address in use is an error at once, naming
// the address.
func TestListenTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	m, err := metrics.New(metrics.Options{})
	require.NoError(t, err)
	_, err = m.Listen(ln.Addr().String())
	require.Error(t, err)
	assert.Contains(t, err.Error(), ln.Addr().String())
}
