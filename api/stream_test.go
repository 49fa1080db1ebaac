package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"gopkg.in/yaml.v3"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/runs"
)

func wsURL(base, id string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/api/workflows/" + id + "/events"
}

// readEvents reads events until the server closes the stream, and returns
// them with the close error.
func readEvents(t *testing.T, conn *websocket.Conn) ([]api.Event, error) {
	t.Helper()
	var evs []api.Event
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return evs, err
		}
		var ev api.Event
		require.NoError(t, json.Unmarshal(data, &ev))
		evs = append(evs, ev)
	}
}

func TestEventStreamDeliversARunsEventsInOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.start(map[string]any{"dag": inlineDAG("streamed",
		noopNode("a", "200ms"), noopNode("b", "300ms", "a"), noopNode("c", "100ms", "a"), noopNode("d", "", "b", "c"))})

	conn, resp, err := websocket.DefaultDialer.Dial(wsURL(h.url, id), nil)
	require.NoError(t, err)
	defer conn.Close()
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	evs, err := readEvents(t, conn)
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, websocket.CloseNormalClosure, ce.Code, "closed normally after the run finished")

	require.NotEmpty(t, evs)
	assert.Equal(t, api.EventSnapshot, evs[0].Type)
	require.NotNil(t, evs[0].Run)
	assert.Equal(t, 4, evs[0].Run.TotalNodes)
	last := evs[len(evs)-1]
	assert.Equal(t, api.EventRunFinished, last.Type)
	assert.Equal(t, "completed", string(last.Status))
	require.NotNil(t, last.Run)
	assert.Equal(t, 4, last.Run.CompletedNodes)

	pos := map[string]int{}
	for i, ev := range evs {
		assert.Equal(t, i+1, ev.Seq, "events are numbered in order")
		assert.Equal(t, id, ev.WorkflowID)
		if ev.Node != "" {
			key := ev.Type + ":" + ev.Node
			_, dup := pos[key]
			assert.False(t, dup, "event %s sent twice", key)
			pos[key] = i
		}
	}
	// Every node started and completed, once each (a, the first node, may
	// have started before the snapshot was taken).
	for _, n := range []string{"b", "c", "d"} {
		require.Contains(t, pos, "node_started:"+n, "events: %+v", evs)
		assert.Less(t, pos["node_started:"+n], pos["node_completed:"+n])
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		require.Contains(t, pos, "node_completed:"+n, "events: %+v", evs)
	}
	// Dependencies complete before their dependents start.
	assert.Less(t, pos["node_completed:a"], pos["node_started:b"])
	assert.Less(t, pos["node_completed:a"], pos["node_started:c"])
	assert.Less(t, pos["node_completed:b"], pos["node_started:d"])
	assert.Less(t, pos["node_completed:c"], pos["node_started:d"])
	// c (100ms) ends before b (300ms); the stream reports them in that order.
	assert.Less(t, pos["node_completed:c"], pos["node_completed:b"])
}

func TestEventStreamReportsFailureAndSkips(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	bad := noopNode("bad", "100ms")
	bad["executor"].(map[string]any)["fail_attempts"] = 5
	bad["retry"] = map[string]any{"max_attempts": 2, "initial_interval": "100ms"}
	id := h.start(map[string]any{"dag": inlineDAG("failing", bad, noopNode("next", "", "bad"))})
	conn, _, err := websocket.DefaultDialer.Dial(wsURL(h.url, id), nil)
	require.NoError(t, err)
	defer conn.Close()
	evs, _ := readEvents(t, conn)
	var types []string
	for _, ev := range evs {
		types = append(types, ev.Type+":"+ev.Node)
	}
	assert.Contains(t, types, "node_failed:bad")
	assert.Contains(t, types, "node_skipped:next")
	assert.Equal(t, "run_finished:", types[len(types)-1])
	assert.Equal(t, "failed", string(evs[len(evs)-1].Status))
}

func TestEventStreamOfAClosedRunIsSnapshotThenFinished(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.start(map[string]any{"dag": inlineDAG("done", noopNode("a", ""))})
	h.waitFor(id, "completion", closed)
	conn, _, err := websocket.DefaultDialer.Dial(wsURL(h.url, id), nil)
	require.NoError(t, err)
	defer conn.Close()
	evs, err := readEvents(t, conn)
	assert.True(t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "err %v", err)
	require.Len(t, evs, 2)
	assert.Equal(t, api.EventSnapshot, evs[0].Type)
	assert.Equal(t, api.EventRunFinished, evs[1].Type)
}

func TestEventStreamLimitsRefuseTheNextConnection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) { c.MaxStreams = 3; c.MaxStreamsPerRun = 2 })
	slow := func() string {
		id := h.start(map[string]any{"dag": inlineDAG("long", noopNode("wait", "1m"))})
		t.Cleanup(func() { h.do(http.MethodPost, "/api/workflows/"+id+"/cancel", nil) })
		return id
	}
	run1, run2 := slow(), slow()
	dial := func(id string) (*websocket.Conn, *http.Response, error) {
		conn, resp, err := websocket.DefaultDialer.Dial(wsURL(h.url, id), nil)
		if conn != nil {
			t.Cleanup(func() { conn.Close() })
		}
		return conn, resp, err
	}
	refused := func(id, what string) {
		t.Helper()
		start := time.Now()
		_, resp, err := dial(id)
		require.ErrorIs(t, err, websocket.ErrBadHandshake, what)
		require.NotNil(t, resp)
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, what)
		body, _ := io.ReadAll(resp.Body)
		assert.Contains(t, string(body), api.CodeTooManyStreams)
		assert.Less(t, time.Since(start), 5*time.Second, "a refusal, not a hang")
	}

	for range 2 {
		_, _, err := dial(run1)
		require.NoError(t, err)
	}
	refused(run1, "third stream of one run (limit 2 per run)")
	c3, _, err := dial(run2)
	require.NoError(t, err)
	refused(run2, "fourth stream in total (limit 3)")

	// Closing a stream frees its slot.
	require.NoError(t, c3.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)))
	c3.Close()
	require.Eventually(t, func() bool {
		c, _, err := dial(run2)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 5*time.Second, 50*time.Millisecond)
}

func TestShutdownClosesStreamsWithACloseFrame(t *testing.T) {
	t.Parallel()
	env := server.New(t)
	srv, err := api.New(api.Config{Runs: env.Runs, Logger: quietLogger, RateLimit: -1})
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	base := "http://" + l.Addr().String()

	started, err := env.Runs.Start(context.Background(), runs.StartRequest{Template: "sdlc-parallel", Requirement: "x"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = env.Runs.Cancel(context.Background(), started.WorkflowID) })
	// Pause it so that it stays open.
	require.NoError(t, env.Runs.Pause(context.Background(), started.WorkflowID))
	conn, _, err := websocket.DefaultDialer.Dial(wsURL(base, started.WorkflowID), nil)
	require.NoError(t, err)
	defer conn.Close()
	_, _, err = conn.ReadMessage() // the snapshot
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(ctx))
	_, err = readEvents(t, conn)
	assert.True(t, websocket.IsCloseError(err, websocket.CloseGoingAway), "want close 1001, got %v", err)
	assert.ErrorIs(t, <-served, http.ErrServerClosed)
	_, err = http.Get(base + "/health")
	assert.Error(t, err, "no longer accepting connections")
}

func TestHealth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var hl api.Health
	// The worker just started; Temporal sees its pollers once they poll.
	require.Eventually(t, func() bool {
		r := h.do(http.MethodGet, "/health", nil)
		require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
		r.json(t, &hl)
		return hl.Status == api.HealthHealthy
	}, 5*time.Second, 50*time.Millisecond, "health reports the test's worker")
	assert.True(t, hl.Temporal.Reachable)
	assert.Equal(t, server.Namespace(), hl.Temporal.Namespace)
	assert.Equal(t, h.env.TaskQueue, hl.Temporal.TaskQueue)
	assert.True(t, hl.Temporal.WorkerPolling)
	assert.Positive(t, hl.Temporal.Pollers)

	t.Run("no worker", func(t *testing.T) {
		svc := runs.New(server.Client, runs.Config{TaskQueue: "nobody-polls-" + h.env.TaskQueue})
		srv, err := api.New(api.Config{Runs: svc, Logger: quietLogger})
		require.NoError(t, err)
		hs := httptest.NewServer(srv.Handler())
		defer hs.Close()
		resp, err := http.Get(hs.URL + "/health")
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		var hl api.Health
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&hl))
		assert.Equal(t, api.HealthDegraded, hl.Status)
		assert.False(t, hl.Temporal.WorkerPolling)
	})
}

func TestTemporalDownGives503(t *testing.T) {
	t.Parallel()
	down := testenv.Start()
	c, err := client.Dial(client.Options{HostPort: down.HostPort(), Namespace: down.Namespace(), Logger: quietSDKLogger()})
	require.NoError(t, err)
	defer c.Close()
	down.Stop()

	srv, err := api.New(api.Config{
		Runs: runs.New(c, runs.Config{}), Namespace: down.Namespace(), Logger: quietLogger,
		HealthTimeout: time.Second, TemporalTimeout: 2 * time.Second,
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()

	resp, err := http.Get(hs.URL + "/health")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	var hl api.Health
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&hl))
	assert.Equal(t, api.HealthUnhealthy, hl.Status)
	assert.False(t, hl.Temporal.Reachable)
	assert.NotEmpty(t, hl.Temporal.Error)

	// Requests that need Temporal get 503 too, never 500.
	resp2, err := http.Post(hs.URL+"/api/workflows", "application/json", strings.NewReader(`{"template": "sdlc-parallel", "requirement": "x"}`))
	require.NoError(t, err)
	defer resp2.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp2.StatusCode)
	var e api.ErrorResponse
	require.NoError(t, json.NewDecoder(resp2.Body).Decode(&e))
	assert.Equal(t, api.CodeTemporalDown, e.Error.Code)
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var doc struct {
		Paths map[string]map[string]any `json:"paths" yaml:"paths"`
	}
	r := h.do(http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.code)
	r.json(t, &doc)
	var fromYAML struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(api.OpenAPIYAML, &fromYAML))
	assert.Equal(t, len(fromYAML.Paths), len(doc.Paths))

	routes := h.api.Echo().Routes()
	require.NotEmpty(t, routes)
	documented := map[string]bool{}
	for _, rt := range routes {
		path := rt.Path
		for _, seg := range strings.Split(path, "/") {
			if p, ok := strings.CutPrefix(seg, ":"); ok {
				path = strings.Replace(path, seg, "{"+p+"}", 1)
			}
		}
		ops, ok := doc.Paths[path]
		if assert.True(t, ok, "route %s %s is not in openapi.yaml", rt.Method, rt.Path) {
			assert.Contains(t, ops, strings.ToLower(rt.Method), "route %s %s", rt.Method, rt.Path)
		}
		documented[path] = true
	}
	for p := range doc.Paths {
		assert.True(t, documented[p], "openapi.yaml documents %s, which is not a route", p)
	}
	assert.True(t, slices.ContainsFunc(routes, func(r *echo.Route) bool { return r.Path == "/api/workflows/:id/events" }))
}

func quietSDKLogger() sdklog.Logger { return sdklog.NewStructuredLogger(quietLogger) }
