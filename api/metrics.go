package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the API's Prometheus metrics.
type metrics struct {
	gatherer    prometheus.Gatherer
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	runsStarted *prometheus.CounterVec
	streams     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, gath prometheus.Gatherer) (*metrics, error) {
	switch {
	case reg == nil && gath == nil:
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg, gath = r, r
	case gath == nil:
		g, ok := reg.(prometheus.Gatherer)
		if !ok {
			return nil, errors.New("Config.Registerer is not a Gatherer; set Config.Gatherer too")
		}
		gath = g
	case reg == nil:
		return nil, errors.New("Config.Gatherer is set without Config.Registerer")
	}
	m := &metrics{gatherer: gath}
	var err error
	if m.requests, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "maestro_api_requests_total",
		Help: "HTTP requests handled by the Maestro API, by method, route and status code.",
	}, []string{"method", "route", "code"})); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "maestro_api_request_duration_seconds",
		Help:    "Time to handle HTTP requests to the Maestro API, by method and route.",
		Buckets: prometheus.DefBuckets,
	}, []string{"method", "route"})); err != nil {
		return nil, err
	}
	if m.runsStarted, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "maestro_api_runs_started_total",
		Help: "Runs started through the API, by template (\"inline\" for inline DAGs).",
	}, []string{"template"})); err != nil {
		return nil, err
	}
	if m.streams, err = register(reg, prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "maestro_api_event_streams",
		Help: "Open WebSocket event streams.",
	})); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// its name (two servers sharing one registry share the metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register metrics: %w", err)
	}
	return c, nil
}

// middleware counts and times requests by route pattern (never by raw URL,
// which would give every run its own series).
func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // writes the response, so that its status is known
		}
		route := c.Path()
		if route == "" || c.Response().Status == http.StatusNotFound && route == "/*" {
			route = "unmatched"
		}
		method := methodLabel(c.Request().Method)
		m.requests.WithLabelValues(method, route, strconv.Itoa(c.Response().Status)).Inc()
		m.duration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
		return err
	}
}

func (m *metrics) runStarted(template string) {
	if template == "" {
		template = "inline"
	}
	m.runsStarted.WithLabelValues(template).Inc()
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}

// methodLabel is a request's method as a metrics label: the standard ones
// as they are, any other as "other" (a client can send any token as a
// method, and each would make series of its own).
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}
