package api_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/run"
)

// TestTokenRolesGuardEachClassOfRoute runs a real API with a token of each
// role (and the single MAESTRO_API_TOKEN-style Token as admin) against a
// representative route of each class: GET a run (read), POST a start and a
// cancel (operate), /metrics (admin) and the event stream (read) by bearer
// header and by subprotocol. A role that does not allow the route gets 403
// forbidden naming the role needed, and nothing happens (no run started, the
// run still running); no token or an unknown one gets 401; /health stays
// open. No token appears in a response or in the API's log.
func TestTokenRolesGuardEachClassOfRoute(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		"read":    "r3ad-t0ken-aaaaaaaa",
		"operate": "0perate-t0ken-bbbbbbbb",
		"admin":   "adm1n-t0ken-cccccccc",
		"single":  "s1ngle-admin-dddddddd",
	}
	var logs syncBuffer
	h := newHarness(t, func(c *api.Config) {
		c.Token = secrets["single"]
		c.Tokens = []api.Token{
			{Role: api.RoleRead, Secret: secrets["read"]},
			{Role: api.RoleOperate, Secret: secrets["operate"]},
			{Role: api.RoleAdmin, Secret: secrets["admin"]},
		}
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	bearer := func(who string) []string {
		if who == "none" {
			return nil
		}
		s, ok := secrets[who]
		if !ok {
			s = "unknown-token-eeeeeeee"
		}
		return []string{"Authorization", "Bearer " + s}
	}
	// A finished run to read and stream.
	done := h.start(map[string]any{"dag": inlineDAG("roles", noopNode("a", ""))}, bearer("admin")...)
	h.waitForAs(done, closed, bearer("admin"))

	type want struct{ get, start, cancel, metrics, stream int }
	const ok, created, accepted, switching = http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusSwitchingProtocols
	const unauth, forbid = http.StatusUnauthorized, http.StatusForbidden
	for _, tc := range []struct {
		who  string
		want want
		// need is the role named by a 403 for start/cancel and /metrics.
		needStart, needMetrics api.Role
	}{
		{"none", want{unauth, unauth, unauth, unauth, unauth}, "", ""},
		{"unknown", want{unauth, unauth, unauth, unauth, unauth}, "", ""},
		{"read", want{ok, forbid, forbid, forbid, switching}, api.RoleOperate, api.RoleAdmin},
		{"operate", want{ok, created, accepted, forbid, switching}, "", api.RoleAdmin},
		{"admin", want{ok, created, accepted, ok, switching}, "", ""},
		{"single", want{ok, created, accepted, ok, switching}, "", ""},
	} {
		t.Run(tc.who, func(t *testing.T) {
			auth := bearer(tc.who)
			checkErr := func(r response, status int, need api.Role) {
				t.Helper()
				for _, s := range secrets {
					assert.NotContains(t, string(r.body), s)
				}
				switch status {
				case unauth:
					assert.Equal(t, api.CodeUnauthorized, r.apiError(t).Code)
				case forbid:
					e := r.apiError(t)
					assert.Equal(t, api.CodeForbidden, e.Code)
					assert.Contains(t, e.Message, string(need))
					assert.Equal(t, map[string]any{"required_role": string(need), "role": tc.who}, e.Details)
				}
			}

			// GET a run.
			r := h.do(http.MethodGet, "/api/workflows/"+done, nil, auth...)
			assert.Equal(t, tc.want.get, r.code, "GET run: %s", r.body)
			checkErr(r, tc.want.get, api.RoleRead)

			// POST start.
			id := "roles-start-" + tc.who
			r = h.do(http.MethodPost, "/api/workflows", map[string]any{"dag": inlineDAG("s", noopNode("a", "")), "id": id}, auth...)
			assert.Equal(t, tc.want.start, r.code, "start: %s", r.body)
			checkErr(r, tc.want.start, tc.needStart)
			if tc.want.start != created {
				notStarted(t, id)
			}

			// POST cancel of a running run.
			long := h.start(map[string]any{"dag": inlineDAG("long", noopNode("a", "1h"))}, bearer("admin")...)
			r = h.do(http.MethodPost, "/api/workflows/"+long+"/cancel", nil, auth...)
			assert.Equal(t, tc.want.cancel, r.code, "cancel: %s", r.body)
			checkErr(r, tc.want.cancel, tc.needStart)
			if tc.want.cancel == accepted {
				h.waitForAs(long, closed, bearer("admin"))
			} else {
				assert.Equal(t, run.Running, h.statusAs(long, bearer("admin")).Status, "a refused cancel cancels nothing")
				require.Equal(t, accepted, h.do(http.MethodPost, "/api/workflows/"+long+"/cancel", nil, bearer("admin")...).code)
			}

			// /metrics.
			r = h.do(http.MethodGet, "/metrics", nil, auth...)
			assert.Equal(t, tc.want.metrics, r.code, "metrics: %.200s", r.body)
			checkErr(r, tc.want.metrics, tc.needMetrics)

			// The event stream, by bearer header and by subprotocol.
			for _, how := range []string{"header", "subprotocol"} {
				d := websocket.Dialer{Subprotocols: []string{api.SubprotocolV1}}
				var hdr http.Header
				if len(auth) == 2 {
					if how == "header" {
						hdr = http.Header{auth[0]: {auth[1]}}
					} else {
						d.Subprotocols = append(d.Subprotocols, api.TokenSubprotocolPrefix+strings.TrimPrefix(auth[1], "Bearer "))
					}
				}
				conn, resp, err := d.Dial(wsURL(h.url, done), hdr)
				require.NotNil(t, resp, "stream by %s: %v", how, err)
				assert.Equal(t, tc.want.stream, resp.StatusCode, "stream by %s", how)
				if resp.StatusCode != switching {
					body, _ := io.ReadAll(resp.Body)
					assert.Contains(t, string(body), api.CodeUnauthorized)
					continue
				}
				require.NoError(t, err)
				assert.Equal(t, api.SubprotocolV1, conn.Subprotocol())
				evs, err := readEvents(t, conn)
				conn.Close()
				assert.True(t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "err %v", err)
				require.NotEmpty(t, evs)
				assert.Equal(t, api.EventSnapshot, evs[0].Type)
			}

			assert.Equal(t, ok, h.do(http.MethodGet, "/health", nil, auth...).code, "/health stays open")
		})
	}

	assert.NotEmpty(t, logs.String(), "requests are logged")
	assert.Contains(t, logs.String(), "status=403", "refusals are logged")
	for who, s := range secrets {
		assert.NotContains(t, logs.String(), s, "the %s token is never logged", who)
	}
}

// TestOperateRouteClasses checks requiredRole's classes through a read
// token: every operate route is 403 naming operate, every other GET but
// /metrics is allowed (never 401 nor 403), an unknown non-GET needs admin.
func TestOperateRouteClasses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) {
		c.Tokens = []api.Token{{Role: api.RoleRead, Secret: "read-only"}}
	})
	auth := []string{"Authorization", "Bearer read-only"}
	for _, p := range []string{"/api/workflows", "/api/workflows/x/cancel", "/api/workflows/x/pause",
		"/api/workflows/x/resume", "/api/workflows/x/retry", "/api/workflows/x/rewind", "/api/workflows/x/approve/n", "/api/dags/validate"} {
		r := h.do(http.MethodPost, p, map[string]any{}, auth...)
		require.Equal(t, http.StatusForbidden, r.code, p)
		assert.Equal(t, api.RoleOperate, api.Role(r.apiError(t).Details.(map[string]any)["required_role"].(string)), p)
	}
	for _, p := range []string{"/api/workflows", "/api/workflows/active", "/api/workflows/x", "/api/templates",
		"/api/workflows/x/artifacts", "/openapi.json", "/openapi.yaml"} {
		r := h.do(http.MethodGet, p, nil, auth...)
		assert.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, r.code, p)
	}
	assert.Equal(t, http.StatusForbidden, h.do(http.MethodGet, "/metrics", nil, auth...).code)
	assert.Equal(t, http.StatusForbidden, h.do(http.MethodDelete, "/api/workflows/x", nil, auth...).code)
}

// TestParseTokens checks the tokens file and list syntax: comments, blank
// lines and spaces are ignored; a malformed line or unknown role is an
// error naming the line (or entry) that never quotes the token.
func TestParseTokens(t *testing.T) {
	t.Parallel()
	const secret = "Zz9-very-secret"
	good := "# ops tokens\n\nread:" + secret + "1\n  operate : " + secret + "2  \nadmin:" + secret + "3\n"
	toks, err := api.ParseTokens([]byte(good))
	require.NoError(t, err)
	assert.Equal(t, []api.Token{
		{Role: api.RoleRead, Secret: secret + "1"},
		{Role: api.RoleOperate, Secret: secret + "2"},
		{Role: api.RoleAdmin, Secret: secret + "3"},
	}, toks)
	assert.Equal(t, map[api.Role]int{api.RoleRead: 1, api.RoleOperate: 1, api.RoleAdmin: 1}, api.CountRoles(toks))
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.NotContains(t, fmt.Sprintf(verb, toks), secret, "fmt %s never shows a secret", verb)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("tokens", "token", toks[0])
	assert.Contains(t, logged.String(), "read:<redacted>")
	assert.NotContains(t, logged.String(), secret)

	list, err := api.ParseTokenList(" read:" + secret + "1, ,admin:" + secret + "3,")
	require.NoError(t, err)
	assert.Equal(t, []api.Token{{Role: api.RoleRead, Secret: secret + "1"}, {Role: api.RoleAdmin, Secret: secret + "3"}}, list)

	for _, tc := range []struct {
		name, file, where string
		list, entry       string // the same as MAESTRO_API_TOKENS
	}{
		{"no colon", "read:ok\n" + secret + "\n", "line 2", "read:ok," + secret, "entry 2"},
		{"unknown role", "# c\n\nroot:" + secret + "\n", "line 3", "read:ok,,root:" + secret, "entry 3"},
		{"role of another case", "READ:" + secret, "line 1", "READ:" + secret, "entry 1"},
		{"empty token", "read:ok\noperate:\n", "line 2", "read:ok,operate:", "entry 2"},
		{"empty role", ":" + secret, "line 1", ":" + secret, "entry 1"},
		{"space inside", "admin:" + secret + " " + secret, "line 1", "admin:" + secret + " " + secret, "entry 1"},
		{"a comment is no list entry", "# " + secret, "", "# " + secret, "entry 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := api.ParseTokens([]byte(tc.file))
			if tc.where == "" {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.True(t, errors.Is(err, api.ErrTokenSyntax), "%v", err)
				assert.Contains(t, err.Error(), tc.where)
				assert.NotContains(t, err.Error(), secret)
			}

			_, err = api.ParseTokenList(tc.list)
			require.Error(t, err)
			assert.True(t, errors.Is(err, api.ErrTokenSyntax), "%v", err)
			assert.Contains(t, err.Error(), tc.entry)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}
