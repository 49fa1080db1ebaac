package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/runs"
)

// gatedRuns holds every Start until gate is closed, telling started when
// one is waiting.
type gatedRuns struct {
	api.Runs
	started chan struct{}
	gate    chan struct{}
}

func (g gatedRuns) Start(ctx context.Context, req runs.StartRequest) (*runs.Started, error) {
	g.started <- struct{}{}
	<-g.gate
	return g.Runs.Start(ctx, req)
}

// A request that decodes a pipeline waits for a turn once its body is read;
// one that finds none within BusyWait is refused with 503 and Retry-After,
// so a burst of big pipelines cannot all be decoded at once.
func TestPipelineDecodingTakesTurns(t *testing.T) {
	t.Parallel()
	gated := gatedRuns{started: make(chan struct{}, 1), gate: make(chan struct{})}
	h := newHarness(t, func(c *api.Config) {
		gated.Runs = c.Runs
		c.Runs = gated
		c.MaxBusy, c.BusyWait = 1, 200*time.Millisecond
		c.BodyTimeout = time.Second
	})

	// The first start holds the only turn while Temporal is slow.
	first := make(chan response, 1)
	go func() {
		first <- h.do(http.MethodPost, "/api/workflows", map[string]any{"dag": inlineDAG("first", noopNode("a", ""))})
	}()
	select {
	case <-gated.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first start never reached the run service")
	}

	r := h.do(http.MethodPost, "/api/dags/validate", map[string]any{"dag": inlineDAG("second", noopNode("a", ""))})
	require.Equal(t, http.StatusServiceUnavailable, r.code, "a second pipeline waits, then is refused: %s", r.body)
	assert.Equal(t, api.CodeBusy, r.apiError(t).Code)
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	// Reads are never held up.
	assert.Equal(t, http.StatusOK, h.do(http.MethodGet, "/api/templates", nil).code)

	// Past the body deadline: it bounds reading the body only, not the
	// request.
	time.Sleep(1500 * time.Millisecond)
	close(gated.gate)
	fr := <-first
	assert.Equal(t, http.StatusCreated, fr.code, "body: %s", fr.body)
	// The turn is free again.
	assert.Equal(t, http.StatusOK, h.do(http.MethodPost, "/api/dags/validate", map[string]any{"dag": inlineDAG("third", noopNode("a", ""))}).code)
}

// stallingClient sends a request's headers, announcing a body of 1000
// bytes, and a little of the body, then sends nothing more.
func stallingClient(t *testing.T, base, path string) net.Conn {
	t.Helper()
	return stallingClientOf(t, base, path, 1000)
}

// stallingClientOf is stallingClient announcing a body of n bytes.
func stallingClientOf(t *testing.T, base, path string, n int) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"name\": ", path, u.Host, n)
	require.NoError(t, err)
	return conn
}

// A client that has not sent its whole body within BodyTimeout gets 408 and
// its connection is closed.
func TestSlowBodyTimesOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) { c.BodyTimeout = time.Second })
	conn := stallingClient(t, h.url, "/api/dags/validate")
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(15*time.Second)))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode)
	var e api.ErrorResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
	require.NotNil(t, e.Error)
	assert.Equal(t, api.CodeRequestTimeout, e.Error.Code)
	assert.NotEmpty(t, e.Error.RequestID)
	_, err = io.Copy(io.Discard, resp.Body)
	require.NoError(t, err)
	// The server closes the connection.
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the connection is closed")
}

// Clients that send their bodies slowly hold no decoding turn: with more of
// them stalled than there are turns, a pipeline is still validated at once.
func TestSlowBodiesHoldNoTurn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) {
		c.MaxBusy, c.BusyWait = 2, 200*time.Millisecond
		c.BodyTimeout = 20 * time.Second
	})
	var conns []net.Conn
	for range 4 {
		conns = append(conns, stallingClient(t, h.url, "/api/dags/validate"))
	}
	conns = append(conns, stallingClient(t, h.url, "/api/workflows"))
	time.Sleep(500 * time.Millisecond) // let them all reach the server

	start := time.Now()
	r := h.do(http.MethodPost, "/api/dags/validate", map[string]any{"dag": inlineDAG("prompt", noopNode("a", ""))})
	assert.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	assert.Less(t, time.Since(start), 10*time.Second)

	// The stalled ones are still waiting for their bodies, unanswered.
	for _, c := range conns {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		assert.True(t, errors.As(err, &ne) && ne.Timeout(), "no answer yet: %v", err)
	}
}

// The body deadline leaves long-lived connections alone: an event stream
// stays open for longer than it.
func TestEventStreamOutlivesBodyTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) { c.BodyTimeout = time.Second })
	id := h.start(map[string]any{"dag": inlineDAG("long", noopNode("a", "2500ms"))})
	opened := time.Now()
	conn, _, err := websocket.DefaultDialer.Dial(wsURL(h.url, id), nil)
	require.NoError(t, err)
	defer conn.Close()
	evs, err := readEvents(t, conn)
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, websocket.CloseNormalClosure, ce.Code, "closed normally after the run finished")
	require.NotEmpty(t, evs)
	assert.Equal(t, api.EventRunFinished, evs[len(evs)-1].Type)
	assert.Greater(t, time.Since(opened), 1500*time.Millisecond, "open past the body deadline")
}

// The bodies an API holds at once are bounded: past BodiesHeld, a request
// waits up to BusyWait, then gets 503 busy; once the held body is gone, it
// goes through.
func TestBodiesHeldAreBounded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) {
		c.BodyLimit, c.BodiesHeld = 64<<10, 64<<10
		c.BusyWait, c.BodyTimeout = 200*time.Millisecond, 20*time.Second
	})
	// A stalled body of 32 KiB: a small one still fits beside it...
	slow := stallingClientOf(t, h.url, "/api/dags/validate", 32<<10)
	time.Sleep(300 * time.Millisecond) // let it reach the server
	r := h.do(http.MethodPost, "/api/dags/validate", map[string]any{"dag": inlineDAG("small", noopNode("a", ""))})
	assert.Equal(t, http.StatusOK, r.code, "body: %s", r.body)

	// ...but one as big as the limit does not, while the slow one holds its share.
	big := map[string]any{"dag": inlineDAG("big", noopNode("a", "")), "requirement": strings.Repeat("r", 40<<10)}
	r = h.do(http.MethodPost, "/api/dags/validate", big)
	assert.Equal(t, http.StatusServiceUnavailable, r.code, "body: %s", r.body)
	assert.Equal(t, api.CodeBusy, r.apiError(t).Code)
	assert.Equal(t, "1", r.header.Get("Retry-After"))

	require.NoError(t, slow.Close())
	require.Eventually(t, func() bool {
		return h.do(http.MethodPost, "/api/dags/validate", big).code != http.StatusServiceUnavailable
	}, 10*time.Second, 100*time.Millisecond, "the held body's bytes come back once its client is gone")
}
