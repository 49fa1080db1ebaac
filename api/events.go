package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/maestrohq/maestro/workflows"
)

// Event types sent on GET /api/workflows/{id}/events.
const (
	EventSnapshot      = "snapshot"
	EventNodeStarted   = "node_started"
	EventNodeRetrying  = "node_retrying"
	EventNodeCompleted = "node_completed"
	EventNodeFailed    = "node_failed"
	EventNodeSkipped   = "node_skipped"
	EventNodeCancelled = "node_cancelled"
	EventRunPaused     = "run_paused"
	EventRunResumed    = "run_resumed"
	EventRunFinished   = "run_finished"
	EventError         = "error"
)

// Event is one message of a run's event stream. The first is a snapshot
// with the whole run; node events follow in the order they happened; the
// last is run_finished with the final run, after which the server closes
// the stream normally (1000).
type Event struct {
	Type string `json:"type"`
	// Seq numbers the stream's events from 1.
	Seq        int    `json:"seq"`
	WorkflowID string `json:"workflow_id"`
	// Node, NodeStatus, Attempts, Error and At describe a node event; At
	// is when the node started or ended (the time of observation for
	// node_retrying and run events).
	Node       string     `json:"node,omitempty"`
	NodeStatus string     `json:"node_status,omitempty"`
	Attempts   int32      `json:"attempts,omitempty"`
	Error      string     `json:"error,omitempty"`
	At         *time.Time `json:"at,omitempty"`
	// Status is the run's state (every event).
	Status string `json:"status"`
	// Run is the whole run, in snapshot and run_finished events.
	Run *RunView `json:"run,omitempty"`
}

const (
	wsWriteTimeout = 10 * time.Second
	wsPongWait     = 60 * time.Second
	wsPingEvery    = 25 * time.Second
)

var upgrader = websocket.Upgrader{
	HandshakeTimeout: 10 * time.Second,
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
// as a plain JSON error: an unknown run (404), too many streams (429), a
// server shutting down (503).
func (s *Server) events(c echo.Context) error {
	if s.streamCtx.Err() != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeShuttingDown, Message: "the server is shutting down"}
	}
	id := c.Param("id")
	ctx, cancel := s.temporalCtx(c)
	st, err := s.cfg.Runs.Status(ctx, id)
	if err != nil {
		err = s.statusError(ctx, err)
		cancel()
		return err
	}
	cancel()
	release, err := s.streams.acquire(id)
	if err != nil {
		return &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyStreams, Message: err.Error(),
			Details: map[string]int{"max_streams": s.cfg.MaxStreams, "max_streams_per_run": s.cfg.MaxStreamsPerRun}}
	}
	defer release()
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
	st2 := &stream{s: s, conn: conn, id: id}
	st2.run(st)
	return nil
}

// stream is one open event stream.
type stream struct {
	s    *Server
	conn *websocket.Conn
	id   string
	seq  int
}

func (st *stream) send(ev Event) error {
	st.seq++
	ev.Seq = st.seq
	ev.WorkflowID = st.id
	_ = st.conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	return st.conn.WriteJSON(ev)
}

func (st *stream) close(code int, reason string) {
	msg := websocket.FormatCloseMessage(code, reason)
	_ = st.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
}

// run sends the snapshot, then node events as they happen, until the run
// closes, the client leaves or the server shuts down.
func (st *stream) run(prev *workflows.Status) {
	log := st.s.log.With("workflow_id", st.id)

	// ctx ends when the client leaves (the reader sees an error) or the
	// server shuts down.
	ctx, cancel := context.WithCancel(st.s.streamCtx)
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

	if err := st.send(Event{Type: EventSnapshot, Status: prev.Status, Run: NewRunView(prev)}); err != nil {
		return
	}
	if prev.Closed() {
		st.finish(prev)
		return
	}

	changed := make(chan struct{}, 1)
	go st.s.watchHistory(ctx, st.id, prev.RunID, changed)
	poll := time.NewTicker(st.s.cfg.StreamPollInterval)
	defer poll.Stop()
	ping := time.NewTicker(wsPingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			if st.s.streamCtx.Err() != nil {
				st.close(websocket.CloseGoingAway, "server shutting down")
			}
			return
		case <-ping.C:
			if err := st.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(wsWriteTimeout)); err != nil {
				return
			}
			continue
		case <-changed:
		case <-poll.C:
		}
		qctx, qcancel := context.WithTimeout(ctx, st.s.cfg.TemporalTimeout)
		cur, err := st.s.cfg.Runs.Status(qctx, st.id)
		qcancel()
		if err != nil {
			if ctx.Err() != nil {
				continue // handled above
			}
			// Transient (a worker restarting, Temporal briefly away): try
			// again on the next tick.
			log.Debug("event stream: read status", "error", err)
			continue
		}
		for _, ev := range diff(prev, cur, time.Now()) {
			if err := st.send(ev); err != nil {
				return
			}
		}
		prev = cur
		if cur.Closed() {
			st.finish(cur)
			return
		}
	}
}

func (st *stream) finish(final *workflows.Status) {
	now := time.Now()
	at := final.EndedAt
	if at == nil {
		at = &now
	}
	if err := st.send(Event{Type: EventRunFinished, Status: final.Status, Error: final.Error, At: at, Run: NewRunView(final)}); err != nil {
		return
	}
	st.close(websocket.CloseNormalClosure, "run finished: "+final.Status)
}

// watchHistory long-polls the run's history and signals changed (without
// blocking) whenever events arrive, so that the stream re-reads the state
// at once instead of waiting for its next poll.
func (s *Server) watchHistory(ctx context.Context, workflowID, runID string, changed chan<- struct{}) {
	it := s.cfg.Client.GetWorkflowHistory(ctx, workflowID, runID, true, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				s.log.Debug("event stream: history long poll", "workflow_id", workflowID, "error", err)
			}
			return
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	select {
	case changed <- struct{}{}:
	default:
	}
}

// diff returns the events that lead from prev to cur, in the order they
// happened. A node that both started and ended between the two gives both
// events.
func diff(prev, cur *workflows.Status, now time.Time) []Event {
	var evs []Event
	for _, n := range cur.Nodes {
		before := workflows.NodeStatus{Status: workflows.NodePending}
		if p := prev.Node(n.ID); p != nil {
			before = *p
		}
		if before.Status == n.Status {
			if n.Status == workflows.NodeRunning && n.Attempts > before.Attempts && n.Attempts > 1 {
				evs = append(evs, Event{Type: EventNodeRetrying, Node: n.ID, NodeStatus: n.Status,
					Attempts: n.Attempts, Error: n.LastError, At: &now})
			}
			continue
		}
		if before.Status == workflows.NodePending && n.StartedAt != nil {
			evs = append(evs, Event{Type: EventNodeStarted, Node: n.ID, NodeStatus: workflows.NodeRunning, Attempts: 1, At: n.StartedAt})
			if n.Status == workflows.NodeRunning && n.Attempts > 1 {
				evs = append(evs, Event{Type: EventNodeRetrying, Node: n.ID, NodeStatus: n.Status,
					Attempts: n.Attempts, Error: n.LastError, At: &now})
			}
		}
		var typ string
		switch n.Status {
		case workflows.NodeCompleted:
			typ = EventNodeCompleted
		case workflows.NodeFailed:
			typ = EventNodeFailed
		case workflows.NodeSkipped:
			typ = EventNodeSkipped
		case workflows.NodeCancelled:
			typ = EventNodeCancelled
		default:
			continue
		}
		at := n.EndedAt
		if at == nil {
			at = &now
		}
		evs = append(evs, Event{Type: typ, Node: n.ID, NodeStatus: n.Status, Attempts: n.Attempts, Error: n.Error, At: at})
	}
	// Order by time; events of one node keep their order (stable sort, and
	// a node's start is never after its end).
	slices.SortStableFunc(evs, func(a, b Event) int { return a.At.Compare(*b.At) })
	for i := range evs {
		evs[i].Status = cur.Status
	}
	switch {
	case cur.Status == workflows.RunPaused && prev.Status != workflows.RunPaused:
		evs = append(evs, Event{Type: EventRunPaused, Status: cur.Status, At: &now})
	case prev.Status == workflows.RunPaused && cur.Status == workflows.RunRunning:
		evs = append(evs, Event{Type: EventRunResumed, Status: cur.Status, At: &now})
	}
	return evs
}
