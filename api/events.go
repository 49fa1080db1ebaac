package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"

	"github.com/maestrohq/maestro/runs"
)

// Event types sent on GET /api/workflows/{id}/events (see runs.Watch).
const (
	EventSnapshot      = runs.EventSnapshot
	EventNodeStarted   = runs.EventNodeStarted
	EventNodeRetrying  = runs.EventNodeRetrying
	EventNodeRepairing = runs.EventNodeRepairing
	EventNodeCompleted = runs.EventNodeCompleted
	EventNodeFailed    = runs.EventNodeFailed
	EventNodeSkipped   = runs.EventNodeSkipped
	EventNodeCancelled = runs.EventNodeCancelled
	EventRunPaused     = runs.EventRunPaused
	EventRunResumed    = runs.EventRunResumed
	EventRunFinished   = runs.EventRunFinished
	EventError         = runs.EventError
)

// Event is one message of a run's event stream, as runs.Watch produces it.
// The first is a snapshot with the whole run; node events follow in the
// order they happened; the last is run_finished with the final run, after
// which the server closes the stream normally (1000).
type Event = runs.Event

const (
	wsWriteTimeout = 10 * time.Second
	wsPongWait     = 60 * time.Second
	wsPingEvery    = 25 * time.Second
)

// The event stream's WebSocket subprotocols. A browser, which cannot set an
// Authorization header on a WebSocket, sends the token (when the server has
// one) as a subprotocol of its own, TokenSubprotocolPrefix + token,
// alongside SubprotocolV1: new WebSocket(url, ["maestro.v1",
// "maestro.token." + token]). The server answers with SubprotocolV1 only,
// never the token, and never logs it.
const (
	SubprotocolV1          = "maestro.v1"
	TokenSubprotocolPrefix = "maestro.token."
)

// eventsPath is the event stream's route.
const eventsPath = "/api/workflows/:id/events"

// streamTokenRole returns the role of the token that c, a WebSocket upgrade
// of the event stream, offers as a TokenSubprotocolPrefix subprotocol, or ""
// when it is no such upgrade or offers no valid token.
func streamTokenRole(c echo.Context, auth *authenticator) Role {
	r := c.Request()
	if c.Path() != eventsPath || !websocket.IsWebSocketUpgrade(r) {
		return ""
	}
	var found Role
	for _, p := range websocket.Subprotocols(r) {
		if got, ok := strings.CutPrefix(p, TokenSubprotocolPrefix); ok && got != "" {
			if role := auth.role(got); role.rank() > found.rank() {
				found = role
			}
		}
	}
	return found
}

var upgrader = websocket.Upgrader{
	HandshakeTimeout: 10 * time.Second,
	// Only the version is ever echoed back: the token subprotocol is not
	// in this list, so it is never selected.
	Subprotocols: []string{SubprotocolV1},
	// Browsers send Origin; the bearer token (when configured) is the
	// access control, and CORSOrigins, when set, lists allowed origins.
	CheckOrigin: func(*http.Request) bool { return true },
}

// streamLimiter caps open streams in total and per run.
type streamLimiter struct {
	mu             sync.Mutex
	total          int
	perRun         map[string]int
	maxTotal, maxR int
}

func newStreamLimiter(maxTotal, maxPerRun int) *streamLimiter {
	return &streamLimiter{perRun: map[string]int{}, maxTotal: maxTotal, maxR: maxPerRun}
}

// acquire reserves a stream for run id, or explains why not.
func (l *streamLimiter) acquire(id string) (release func(), err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.total >= l.maxTotal:
		return nil, fmt.Errorf("the server has %d event streams open, its limit", l.total)
	case l.perRun[id] >= l.maxR:
		return nil, fmt.Errorf("run %s has %d event streams open, the limit per run", id, l.perRun[id])
	}
	l.total++
	l.perRun[id]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.total--
			if l.perRun[id]--; l.perRun[id] <= 0 {
				delete(l.perRun, id)
			}
		})
	}, nil
}

// events is GET /api/workflows/:id/events, a WebSocket stream of the run's
// node events. Everything that can be refused is refused before the upgrade,
// as a plain JSON error: too many streams (429, checked first, so that a
// refused stream costs Temporal nothing), an invalid run ID (400), an
// unknown run (404), a request that is not a WebSocket upgrade (426), a
// server shutting down or no worker answering (503).
func (s *Server) events(c echo.Context) error {
	if s.streamCtx.Err() != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeShuttingDown, Message: "the server is shutting down"}
	}
	id := c.Param("id")
	// The stream limit first: a refused stream costs Temporal nothing.
	release, err := s.streams.acquire(id)
	if err != nil {
		return &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyStreams, Message: err.Error(),
			Details: map[string]int{"max_streams": s.cfg.MaxStreams, "max_streams_per_run": s.cfg.MaxStreamsPerRun}}
	}
	defer release()
	// ctx ends when the client leaves, the stream ends or the server shuts
	// down; it is the watch's lifetime.
	ctx, cancel := context.WithCancel(s.streamCtx)
	defer cancel()
	stop := context.AfterFunc(c.Request().Context(), cancel)
	defer stop()
	evs, err := s.cfg.Runs.Watch(ctx, id, runs.WatchOptions{
		PollInterval: s.cfg.StreamPollInterval,
		QueryTimeout: s.cfg.TemporalTimeout,
		OnError: func(err error) {
			s.log.Debug("event stream: read status", "workflow_id", id, "error", err)
		},
	})
	if err != nil {
		return err
	}
	if !websocket.IsWebSocketUpgrade(c.Request()) {
		c.Response().Header().Set("Upgrade", "websocket")
		return &Error{Status: http.StatusUpgradeRequired, Code: CodeWebSocketRequired,
			Message: "this endpoint is a WebSocket stream: send a WebSocket upgrade request (Connection: Upgrade, Upgrade: websocket)"}
	}
	conn, err := upgrader.Upgrade(c.Response(), c.Request(), nil)
	if err != nil {
		// The upgrader has answered the client already.
		s.log.DebugContext(c.Request().Context(), "websocket upgrade failed", "workflow_id", id, "error", err)
		return nil
	}
	s.streamWG.Add(1)
	defer s.streamWG.Done()
	s.metrics.streams.Inc()
	defer s.metrics.streams.Dec()
	st := &stream{s: s, conn: conn, id: id}
	st.run(ctx, cancel, evs)
	return nil
}

// stream is one open event stream.
type stream struct {
	s    *Server
	conn *websocket.Conn
	id   string
}

func (st *stream) send(ev Event) error {
	if ev.Run != nil {
		// The watch keeps reading its own copy; normalize another.
		cp := *ev.Run
		ev.Run = NewRunView(&cp)
	}
	_ = st.conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	return st.conn.WriteJSON(ev)
}

func (st *stream) close(code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	_ = st.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}

// run forwards the watch's events until the run closes, the client leaves
// or the server shuts down; cancel ends the watch.
func (st *stream) run(ctx context.Context, cancel context.CancelFunc, evs <-chan Event) {
	defer cancel()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer cancel()
		st.conn.SetReadLimit(4 << 10)
		_ = st.conn.SetReadDeadline(time.Now().Add(wsPongWait))
		st.conn.SetPongHandler(func(string) error { return st.conn.SetReadDeadline(time.Now().Add(wsPongWait)) })
		for {
			if _, _, err := st.conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	defer func() {
		// Wait briefly for the client's answer to a close frame, then drop
		// the connection (which ends the reader).
		select {
		case <-readerDone:
		case <-time.After(time.Second):
		}
		_ = st.conn.Close()
		<-readerDone
	}()

	ping := time.NewTicker(wsPingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ping.C:
			if err := st.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteTimeout)); err != nil {
				return
			}
		case ev, ok := <-evs:
			if !ok {
				// The watch ended without run_finished: the client left
				// or the server is shutting down.
				if st.s.streamCtx.Err() != nil {
					st.close(websocket.CloseGoingAway, "server shutting down")
				}
				return
			}
			if err := st.send(ev); err != nil {
				return
			}
			if ev.Type == EventRunFinished {
				st.close(websocket.CloseNormalClosure, "run finished: "+string(ev.Status))
				return
			}
		}
	}
}
