// Package metrics gives a Maestro process one Prometheus registry, fed by an
// OpenTelemetry meter provider, with the Temporal SDK's metrics handler on
// top, and serves it on /metrics.
//
// Pass SDKHandler to client.Options.MetricsHandler: the SDK then reports its
// own client and worker metrics (temporal_request_total,
// temporal_workflow_completed_total, temporal_activity_execution_latency_seconds,
// …) and Maestro's workflow and activities record theirs through the same
// handler (workflow.GetMetricsHandler, activity.GetMetricsHandler), so that
// workflow metrics are skipped during replay. Maestro's metrics are:
//
//	maestro_node_duration_seconds{phase, executor, outcome}  histogram of node attempt durations
//	maestro_node_attempts_total{phase, executor, outcome}    node attempts by outcome
//	maestro_runs_finished_total{template, status}            runs by final state
//
// (see activities.MetricNodeDuration, activities.MetricNodeAttempts and
// workflows.MetricRunsFinished). Other instrumentation can register
// Prometheus collectors on Registerer or create OpenTelemetry instruments
// with Meter; everything appears on the same endpoint, next to the Go runtime
// and process collectors.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Path is where Handler and Listen serve the metrics.
const Path = "/metrics"

// DurationBuckets are the histogram bucket boundaries, in seconds, of every
// OpenTelemetry histogram (the SDK's latencies and Maestro's node
// durations): from a millisecond to an hour.
var DurationBuckets = []float64{
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
}

// Options configures New.
type Options struct {
	// Logger receives errors from instruments and from serving; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Metrics is one Prometheus registry with an OpenTelemetry meter provider
// and the Temporal SDK's metrics handler writing to it. Create it with New
// and call Shutdown when done.
type Metrics struct {
	registry *prometheus.Registry
	provider *sdkmetric.MeterProvider
	sdk      client.MetricsHandler
	logger   *slog.Logger
}

// New returns a fresh registry (with the Go runtime and process collectors)
// and the meter provider and SDK handler that write to it.
func New(opts Options) (*Metrics, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register Go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	exporter, err := otelprom.New(
		otelprom.WithRegisterer(reg),
		otelprom.WithoutScopeInfo(),
		otelprom.WithoutTargetInfo(),
		otelprom.WithAggregationSelector(aggregation),
	)
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	sdk := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter: provider.Meter("go.temporal.io/sdk"),
		// Counters only go up; as OpenTelemetry counters they become
		// Prometheus counters (…_total) rather than gauges.
		UseMonotonicCounters: true,
		// The default panics.
		OnError: func(err error) { logger.Error("metrics instrument", "error", err) },
	})
	return &Metrics{registry: reg, provider: provider, sdk: sdk, logger: logger}, nil
}

// aggregation gives histograms DurationBuckets; the other kinds keep the
// default aggregation.
func aggregation(kind sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	if kind == sdkmetric.InstrumentKindHistogram {
		return sdkmetric.AggregationExplicitBucketHistogram{Boundaries: DurationBuckets}
	}
	return sdkmetric.DefaultAggregationSelector(kind)
}

// SDKHandler is the Temporal SDK metrics handler; set it as
// client.Options.MetricsHandler.
func (m *Metrics) SDKHandler() client.MetricsHandler { return m.sdk }

// Registerer registers further Prometheus collectors on the registry.
func (m *Metrics) Registerer() prometheus.Registerer { return m.registry }

// Gatherer gathers everything the registry holds.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.registry }

// Meter returns an OpenTelemetry meter whose instruments are exported on
// the registry; name is the instrumentation scope, e.g. the package path.
func (m *Metrics) Meter(name string) metric.Meter { return m.provider.Meter(name) }

// Handler serves the registry in the Prometheus text (or OpenMetrics)
// format; mount it at Path.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(m.logger.Handler(), slog.LevelError),
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// Shutdown stops the meter provider; the SDK handler records nothing after.
func (m *Metrics) Shutdown(ctx context.Context) error {
	if err := m.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down meter provider: %w", err)
	}
	return nil
}

// Server serves Path on its own listener. Create it with Listen.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// Listen listens on addr (host:port; port 0 picks a free one) and serves
// Handler at Path until Shutdown.
func (m *Metrics) Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+Path, m.Handler())
	s := &Server{
		srv: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
		},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.logger.Error("metrics server stopped", "addr", s.Addr(), "error", err)
		}
	}()
	return s, nil
}

// Addr is the address the server listens on, with the actual port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the metrics endpoint's URL.
func (s *Server) URL() string { return "http://" + s.Addr() + Path }

// Shutdown stops the server, waiting for in-flight scrapes until ctx is
// done.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	if err != nil {
		return fmt.Errorf("shut down metrics server: %w", err)
	}
	return nil
}
