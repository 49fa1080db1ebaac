// Package api is Maestro's REST API: an Echo server that starts, inspects,
// controls and streams pipeline runs. It is thin: it validates requests and
// talks to Temporal only through package runs (the same code the maestro CLI
// uses), behind the Runs interface; it keeps no state of its own beyond open
// WebSocket streams.
//
// Construct a Server with New, then either serve it (Start, Serve) or mount
// its Handler in another server; Shutdown stops it gracefully.
package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"
	"golang.org/x/time/rate"

	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/web"
)

// Defaults applied to a zero Config.
const (
	// DefaultBodyLimit caps request bodies: a pipeline definition
	// (dag.MaxDefinitionBytes) with room for the request around it.
	DefaultBodyLimit = 2<<20 + 64<<10
	// DefaultRateLimit is the sustained requests per second allowed per
	// client IP; DefaultRateBurst is the burst above it.
	DefaultRateLimit = 50
	DefaultRateBurst = 200
	// DefaultMaxStreams caps open event streams in total, and
	// DefaultMaxStreamsPerRun per run.
	DefaultMaxStreams       = 1000
	DefaultMaxStreamsPerRun = 100
	// DefaultStreamPollInterval is how often a stream re-reads a run's state
	// when its history is quiet (node retries add no history events).
	DefaultStreamPollInterval = time.Second
	// DefaultTemporalTimeout bounds each call to Temporal made for a
	// request (a status query waits at most this long for a worker).
	DefaultTemporalTimeout = 10 * time.Second
	// DefaultMaxBusy caps the requests that decode a pipeline (start,
	// retry, validate) at once — a request counts once per 256 KiB of body, so
	// the largest are decoded one at a time — and DefaultBusyWait is how
	// long one waits for its turn before it is refused with 503 and
	// Retry-After: their memory grows with the pipeline.
	DefaultMaxBusy  = 4
	DefaultBusyWait = 10 * time.Second
	// DefaultBodiesHeld bounds the bytes of the request bodies an API
	// process holds at once (each is read whole before its handler runs):
	// past it, a request waits up to BusyWait, then gets 503 busy.
	DefaultBodiesHeld = 64 << 20
	// DefaultBodyTimeout is how long a client has to send a request's
	// whole body once its headers are in; one that has not by then gets
	// 408 and its connection is closed. Bodies are read before a request
	// waits for its turn to decode (MaxBusy), so a slow sender holds no
	// turn.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultHealthTimeout bounds /health's calls to Temporal.
	DefaultHealthTimeout = 3 * time.Second
)

// Runs is what the API needs of the run service; *runs.Service implements it.
// Every call to Temporal the API makes goes through it.
type Runs interface {
	// Build validates a start request and returns the workflow input a
	// start would use (POST /api/dags/validate).
	Build(req runs.StartRequest) (*run.Input, error)
	// Start starts a run, or returns the existing one of the same ID.
	Start(ctx context.Context, req runs.StartRequest) (*runs.Started, error)
	// Status returns a run's state.
	Status(ctx context.Context, workflowID string) (*run.Status, error)
	// Nodes returns a page of a run's nodes.
	Nodes(ctx context.Context, workflowID string, q run.NodesQuery) (*run.NodesPage, error)
	// Exists returns runs.ErrNotFound for an unknown run.
	Exists(ctx context.Context, workflowID string) error
	// List returns a page of runs.
	List(ctx context.Context, f runs.ListFilter) ([]runs.RunSummary, []byte, error)
	// Cancel, Pause and Resume control a run.
	Cancel(ctx context.Context, workflowID string) error
	// Terminate ends a run at once, with a reason.
	Terminate(ctx context.Context, workflowID, reason string) error
	Pause(ctx context.Context, workflowID string) error
	Resume(ctx context.Context, workflowID string) error
	// Retry starts a new run of a closed one, reusing its completed nodes.
	Retry(ctx context.Context, workflowID string) (*runs.Started, error)
	// Rewind resets a run to the point just before one of its nodes
	// started.
	Rewind(ctx context.Context, workflowID, to string, opts runs.RewindOptions) (*runs.Rewound, error)
	// Approve decides an approval node.
	Approve(ctx context.Context, workflowID string, a run.Approval) (*run.NodeStatus, error)
	// ExtendBudget raises a run's budget or rejects the extension.
	ExtendBudget(ctx context.Context, workflowID string, d run.BudgetDecision) (*run.Budget, error)
	// Watch follows a run's events (the event stream's source).
	Watch(ctx context.Context, workflowID string, opts runs.WatchOptions) (<-chan runs.Event, error)
	// Health runs the health checks (/health).
	Health(ctx context.Context) runs.Health
	// Diff returns the diff of a node of a workspace run, or of the whole
	// run when node is empty.
	Diff(ctx context.Context, workflowID, node string) (*runs.CommitDiff, error)
}

var _ Runs = (*runs.Service)(nil)

// Config configures a Server. Runs is required.
type Config struct {
	// Runs starts, inspects and controls runs.
	Runs Runs
	// Namespace is the Temporal namespace, shown by /health (default: the
	// run service's, runs.Config.Namespace).
	Namespace string
	// TemporalUI is the Temporal Web UI's base URL (http://host:port), when
	// there is one: GET /api/info gives it, and the run page links each run
	// to its page there. Empty: no links.
	TemporalUI string
	// Artifacts serves the runs' node outputs; nil disables the artifact
	// endpoints (404).
	Artifacts artifacts.Store
	// Logger receives request logs and errors; nil means slog.Default().
	Logger *slog.Logger
	// Token, when set, is an admin bearer token (Authorization: Bearer
	// <token>). With Token or Tokens set, every endpoint but /health and
	// the run page's files (/, /assets/) requires a token whose role allows
	// it (see Role).
	Token string
	// Tokens are bearer tokens with their roles, besides Token.
	Tokens []Token
	// CORSOrigins, when set, enables CORS for these origins ("*" for any).
	CORSOrigins []string
	// BodyLimit caps request bodies in bytes; 0 means DefaultBodyLimit.
	BodyLimit int64
	// RateLimit is the sustained requests per second allowed per client
	// IP and RateBurst the burst; 0 means the defaults, a negative
	// RateLimit disables rate limiting.
	RateLimit float64
	RateBurst int
	// MaxStreams and MaxStreamsPerRun cap open WebSocket event streams;
	// 0 means the defaults.
	MaxStreams       int
	MaxStreamsPerRun int
	// StreamPollInterval: see DefaultStreamPollInterval.
	StreamPollInterval time.Duration
	// BodiesHeld: see DefaultBodiesHeld; 0 means the default, and it is
	// at least BodyLimit.
	BodiesHeld int64
	// TemporalTimeout: see DefaultTemporalTimeout.
	TemporalTimeout time.Duration
	// HealthTimeout: see DefaultHealthTimeout.
	HealthTimeout time.Duration
	// MaxBusy and BusyWait: see DefaultMaxBusy; 0 means the defaults.
	MaxBusy  int
	BusyWait time.Duration
	// BodyTimeout: see DefaultBodyTimeout; 0 means the default. It bounds
	// reading request bodies only (through the connection's read deadline,
	// set and cleared around the read), never event streams.
	BodyTimeout time.Duration
	// Registerer receives the API's metrics and Gatherer is what /metrics
	// serves. Both nil: a new registry with Go and process collectors. Pass
	// a shared *prometheus.Registry as both to expose other metrics (the
	// Temporal SDK's, say) on the same endpoint.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
}

// Server is the REST API.
type Server struct {
	cfg     Config
	log     *slog.Logger
	echo    *echo.Echo
	metrics *metrics
	streams *streamLimiter
	// busy hands out the turns of requests decoding a pipeline (see
	// MaxBusy); a request weighs a turn per 256 KiB of body.
	busy *semaphore.Weighted
	// bodies bounds the bytes of request bodies held at once (see
	// DefaultBodiesHeld).
	bodies *semaphore.Weighted

	// streamCtx is cancelled by Shutdown; open streams then send a close
	// frame and end. streamWG counts them.
	streamCtx    context.Context
	stopStreams  context.CancelFunc
	streamWG     sync.WaitGroup
	shutdownOnce sync.Once
}

// New checks cfg, applies defaults and returns a Server with every route
// registered. It starts nothing.
func New(cfg Config) (*Server, error) {
	if cfg.Runs == nil {
		return nil, errors.New("api: Config.Runs is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.BodiesHeld <= 0 {
		cfg.BodiesHeld = DefaultBodiesHeld
	}
	cfg.BodiesHeld = max(cfg.BodiesHeld, cfg.BodyLimit)
	if cfg.RateLimit == 0 {
		cfg.RateLimit = DefaultRateLimit
	}
	if cfg.RateBurst <= 0 {
		cfg.RateBurst = DefaultRateBurst
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.MaxStreamsPerRun <= 0 {
		cfg.MaxStreamsPerRun = DefaultMaxStreamsPerRun
	}
	if cfg.StreamPollInterval <= 0 {
		cfg.StreamPollInterval = DefaultStreamPollInterval
	}
	if cfg.TemporalTimeout <= 0 {
		cfg.TemporalTimeout = DefaultTemporalTimeout
	}
	if cfg.MaxBusy <= 0 {
		cfg.MaxBusy = DefaultMaxBusy
	}
	if cfg.BusyWait <= 0 {
		cfg.BusyWait = DefaultBusyWait
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = DefaultHealthTimeout
	}
	m, err := newMetrics(cfg.Registerer, cfg.Gatherer)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:         cfg,
		log:         cfg.Logger,
		metrics:     m,
		streams:     newStreamLimiter(cfg.MaxStreams, cfg.MaxStreamsPerRun),
		busy:        semaphore.NewWeighted(int64(cfg.MaxBusy)),
		bodies:      semaphore.NewWeighted(cfg.BodiesHeld),
		streamCtx:   ctx,
		stopStreams: cancel,
	}
	s.echo = s.newEcho()
	return s, nil
}

// Handler returns the API as an http.Handler, to serve or mount elsewhere.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo returns the underlying Echo instance (to add routes, say).
func (s *Server) Echo() *echo.Echo { return s.echo }

// Start listens on addr and serves until Shutdown; it then returns
// http.ErrServerClosed.
func (s *Server) Start(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", addr, err)
	}
	return s.Serve(l)
}

// Serve serves on l until Shutdown; it then returns http.ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	s.echo.Listener = l
	return s.echo.Start("")
}

// Shutdown stops the server gracefully: it stops accepting connections, sends
// every open event stream a close frame (1001, going away), and waits for
// in-flight requests and streams to finish or for ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(s.stopStreams)
	err := s.echo.Shutdown(ctx)
	done := make(chan struct{})
	go func() { s.streamWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("api: event streams still open: %w", ctx.Err()))
	}
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}

// newEcho builds the Echo instance: middleware, error handler and routes.
func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.JSONSerializer = jsonSerializer{}
	e.Server.ReadHeaderTimeout = 10 * time.Second

	e.Use(middleware.RequestID())
	e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogMethod:    true,
		LogURI:       true,
		LogStatus:    true,
		LogLatency:   true,
		LogRequestID: true,
		LogRemoteIP:  true,
		LogError:     true,
		HandleError:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			switch {
			case v.Status == http.StatusServiceUnavailable:
				level = slog.LevelWarn // busy, shutting down or Temporal away: said to the client
			case v.Status >= 500:
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("method", v.Method), slog.String("uri", v.URI), slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency), slog.String("request_id", v.RequestID), slog.String("remote_ip", v.RemoteIP),
			}
			if v.Error != nil {
				attrs = append(attrs, slog.String("error", v.Error.Error()))
			}
			s.log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	}))
	e.Use(s.metrics.middleware)
	e.Use(middleware.Recover())
	if len(s.cfg.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  s.cfg.CORSOrigins,
			AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, headerIdempotencyKey},
			ExposeHeaders: []string{echo.HeaderXRequestID},
		}))
	}
	e.Use(middleware.BodyLimit(fmt.Sprintf("%dB", s.cfg.BodyLimit)))
	if s.cfg.RateLimit > 0 {
		e.Use(middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
			Skipper: isHealth,
			Store: middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
				Rate: rate.Limit(s.cfg.RateLimit), Burst: s.cfg.RateBurst, ExpiresIn: 3 * time.Minute,
			}),
		}))
	}
	if toks := s.tokens(); len(toks) > 0 {
		e.Use(s.authMiddleware(newAuthenticator(toks))...)
	}
	e.Use(s.readBodyWithin)

	e.GET("/health", s.health)
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler()))
	e.GET("/openapi.json", s.openAPIJSON)
	e.GET("/openapi.yaml", s.openAPIYAML)

	// The run page (package web): static files that need no token; the
	// page's own API calls carry it.
	page := echo.WrapHandler(web.Handler())
	e.GET("/", page)
	e.GET("/assets/:file", page)

	g := e.Group("/api")
	g.POST("/workflows", s.startRun, s.oneAtATime)
	g.GET("/workflows", s.listRuns)
	g.GET("/workflows/active", s.listActive)
	g.GET("/workflows/:id", s.runStatus)
	g.GET("/workflows/:id/nodes", s.runNodes)
	g.POST("/workflows/:id/cancel", s.cancelRun)
	g.POST("/workflows/:id/terminate", s.terminateRun)
	g.POST("/workflows/:id/pause", s.pauseRun)
	g.POST("/workflows/:id/resume", s.resumeRun)
	g.POST("/workflows/:id/retry", s.retryRun, s.oneAtATime)
	g.POST("/workflows/:id/rewind", s.rewindRun)
	g.GET("/workflows/:id/events", s.events)
	g.POST("/workflows/:id/approve/:node", s.approveNode)
	g.POST("/workflows/:id/budget", s.extendBudget)
	g.GET("/workflows/:id/artifacts", s.listArtifacts)
	g.GET("/workflows/:id/artifacts/:node", s.getArtifact)
	g.GET("/workflows/:id/diff", s.getDiff)
	g.GET("/workflows/:id/nodes/:node/diff", s.getDiff)
	g.POST("/dags/validate", s.validate, s.oneAtATime)
	g.GET("/templates", s.listTemplates)
	g.GET("/info", s.info)
	return e
}

// oneAtATime lets a request that decodes a pipeline run once it has its
// turns: a turn per 256 KiB of body (at least one, at most MaxBusy, so that the
// largest bodies are decoded one at a time). Its body has been read whole by
// then (readBodyWithin), so a client that sends it slowly never holds a turn.
// A request that waits BusyWait for its turns is refused with 503 and
// Retry-After.
func (s *Server) oneAtATime(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		weight := min(max(c.Request().ContentLength>>18+1, 1), int64(s.cfg.MaxBusy))
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.BusyWait)
		defer cancel()
		if err := s.busy.Acquire(ctx, weight); err != nil {
			if err := c.Request().Context().Err(); err != nil {
				return err
			}
			c.Response().Header().Set("Retry-After", "1")
			return &Error{Status: http.StatusServiceUnavailable, Code: CodeBusy,
				Message: fmt.Sprintf("the API is busy decoding pipelines (at most %d at once); retry in a moment", s.cfg.MaxBusy)}
		}
		defer s.busy.Release(weight)
		return next(c)
	}
}

// readBodyWithin reads a request's whole body (within the body limit) before
// its handler runs, and replaces it with the bytes read, setting
// ContentLength to their length. The read has BodyTimeout: a client that has
// not sent its body by then gets 408 and its connection is closed. The
// deadline is the connection's read deadline, set for the read and cleared
// after (net/http clears it too once the body is read), so that nothing else
// on the connection is cut: the handler, an event stream, the wait for the
// next request. (An http.Server.ReadTimeout would end event streams.)
// Requests without a body are passed on untouched.
func (s *Server) readBodyWithin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 && len(req.TransferEncoding) == 0 {
			return next(c)
		}
		// Bodies are held in memory: their bytes at once are bounded, a
		// body of unknown length counting as the limit.
		weight := s.cfg.BodyLimit
		if req.ContentLength > 0 {
			weight = min(req.ContentLength, weight)
		}
		wctx, cancel := context.WithTimeout(req.Context(), s.cfg.BusyWait)
		err := s.bodies.Acquire(wctx, weight)
		cancel()
		if err != nil {
			if err := req.Context().Err(); err != nil {
				return err
			}
			c.Response().Header().Set("Retry-After", "1")
			return &Error{Status: http.StatusServiceUnavailable, Code: CodeBusy,
				Message: "the API is busy reading other requests' bodies; retry in a moment"}
		}
		defer s.bodies.Release(weight)
		rc := http.NewResponseController(c.Response())
		// A writer without deadlines (the Handler mounted behind a wrapper
		// that hides them) reads without one.
		deadline := rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout)) == nil
		buf := bytes.NewBuffer(make([]byte, 0, weight+bytes.MinRead))
		_, err = buf.ReadFrom(req.Body)
		data := buf.Bytes()
		if err != nil {
			if isTimeout(err) {
				c.Response().Header().Set("Connection", "close")
				return &Error{Status: http.StatusRequestTimeout, Code: CodeRequestTimeout,
					Message: fmt.Sprintf("the request body was not sent within %s", s.cfg.BodyTimeout), Err: err}
			}
			if deadline {
				_ = rc.SetReadDeadline(time.Time{})
			}
			var he *echo.HTTPError
			if errors.As(err, &he) {
				return he
			}
			if err := req.Context().Err(); err != nil {
				return err // the client went away
			}
			return &Error{Status: http.StatusBadRequest, Code: CodeBadRequest, Message: "could not read the request body", Err: err}
		}
		if deadline {
			_ = rc.SetReadDeadline(time.Time{})
		}
		_ = req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(data))
		req.ContentLength = int64(len(data))
		return next(c)
	}
}

// isTimeout reports whether err is a read deadline's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// isPage reports whether c asks for the run page's files (package web),
// which need no token.
func isPage(c echo.Context) bool {
	m := c.Request().Method
	return (m == http.MethodGet || m == http.MethodHead) && (c.Path() == "/" || c.Path() == "/assets/:file")
}

func isHealth(c echo.Context) bool {
	return c.Path() == "/health" || strings.TrimSuffix(c.Request().URL.Path, "/") == "/health"
}

// temporalCtx bounds a request's calls to Temporal.
func (s *Server) temporalCtx(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request().Context(), s.cfg.TemporalTimeout)
}
