package api_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
)

// TestEventStreamAcceptsTheTokenAsASubprotocol dials the event stream of an
// API with a token with a real WebSocket client, as a browser would (the
// token as a subprotocol beside maestro.v1) and otherwise: the right token,
// as a subprotocol or a bearer header, opens the stream and the server
// answers with maestro.v1 only; none or a wrong one is 401 before the
// upgrade; the token is never echoed nor logged.
func TestEventStreamAcceptsTheTokenAsASubprotocol(t *testing.T) {
	t.Parallel()
	const token = "s3cret-stream-token"
	var logs syncBuffer
	h := newHarness(t, func(c *api.Config) {
		c.Token = token
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	// A run, started and awaited through an API without a token on the
	// same task queue.
	open := newHarnessOn(t, h.env)
	id := open.start(map[string]any{"dag": inlineDAG("guarded", noopNode("a", ""))})
	open.waitFor(id, "completion", closed)

	for _, tc := range []struct {
		name         string
		subprotocols []string
		header       http.Header
		status       int
		protocol     string // the subprotocol the server selects
	}{
		{"no token", nil, nil, http.StatusUnauthorized, ""},
		{"only the version", []string{api.SubprotocolV1}, nil, http.StatusUnauthorized, ""},
		{"token subprotocol", []string{api.SubprotocolV1, api.TokenSubprotocolPrefix + token}, nil, http.StatusSwitchingProtocols, api.SubprotocolV1},
		{"token subprotocol first", []string{api.TokenSubprotocolPrefix + token, api.SubprotocolV1}, nil, http.StatusSwitchingProtocols, api.SubprotocolV1},
		{"wrong token subprotocol", []string{api.SubprotocolV1, api.TokenSubprotocolPrefix + "wrong"}, nil, http.StatusUnauthorized, ""},
		{"token prefix of the right one", []string{api.SubprotocolV1, api.TokenSubprotocolPrefix + token[:5]}, nil, http.StatusUnauthorized, ""},
		{"empty token subprotocol", []string{api.SubprotocolV1, api.TokenSubprotocolPrefix}, nil, http.StatusUnauthorized, ""},
		{"the bare token", []string{api.SubprotocolV1, token}, nil, http.StatusUnauthorized, ""},
		{"bearer header", nil, http.Header{"Authorization": {"Bearer " + token}}, http.StatusSwitchingProtocols, ""},
		{"bearer header and version", []string{api.SubprotocolV1}, http.Header{"Authorization": {"Bearer " + token}}, http.StatusSwitchingProtocols, api.SubprotocolV1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := websocket.Dialer{Subprotocols: tc.subprotocols}
			conn, resp, err := d.Dial(wsURL(h.url, id), tc.header)
			require.NotNil(t, resp, "err %v", err)
			assert.Equal(t, tc.status, resp.StatusCode)
			for _, v := range resp.Header.Values("Sec-WebSocket-Protocol") {
				assert.NotContains(t, v, token, "the token is never echoed")
			}
			if tc.status != http.StatusSwitchingProtocols {
				require.Error(t, err)
				body, _ := io.ReadAll(resp.Body)
				assert.Contains(t, string(body), api.CodeUnauthorized)
				assert.NotContains(t, string(body), token)
				return
			}
			require.NoError(t, err)
			defer conn.Close()
			assert.Equal(t, tc.protocol, conn.Subprotocol())
			assert.Equal(t, tc.protocol, resp.Header.Get("Sec-WebSocket-Protocol"))
			evs, err := readEvents(t, conn)
			assert.True(t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "err %v", err)
			require.Len(t, evs, 2)
			assert.Equal(t, api.EventSnapshot, evs[0].Type)
			assert.Equal(t, api.EventRunFinished, evs[1].Type)
		})
	}

	// The subprotocol opens the event stream only, not the rest of the API.
	r := h.do(http.MethodGet, "/api/workflows/"+id, nil, "Sec-WebSocket-Protocol", api.SubprotocolV1+", "+api.TokenSubprotocolPrefix+token)
	assert.Equal(t, http.StatusUnauthorized, r.code)

	assert.NotEmpty(t, logs.String(), "requests are logged")
	assert.NotContains(t, logs.String(), token, "the token is never logged")
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (a log sink).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
