package activities

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
)

// seen is one request as the test server received it.
type seen struct {
	Method, Path, RawQuery, Body string
	Header                       http.Header
}

// server answers every request with handler after recording it.
func server(t *testing.T, handler http.HandlerFunc) (*httptest.Server, func() []seen) {
	t.Helper()
	var mu sync.Mutex
	var reqs []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Clone()})
		mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return append([]seen(nil), reqs...)
	}
}

func answer(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func httpNode(e dag.HTTPSpec) dag.Node {
	return dag.Node{ID: "deploy", Executor: dag.NewExecutor(&e)}
}

func TestHTTPTemplates(t *testing.T) {
	srv, requests := server(t, answer(http.StatusCreated, `{"id":42}`))
	h := newHarness(t, withEnv(map[string]string{"API_TOKEN": "tok-123"}))
	res := h.mustRun(httpNode(dag.HTTPSpec{URL: "{{.Params.base}}/deploy/{{.Node}}?run={{.WorkflowID}}&env={{.Params.env}}", Headers: map[string]string{
		"Authorization": `Bearer {{env "API_TOKEN"}}`,
		"Content-Type":  "application/json",
		"X-Build":       `{{index .Inputs "build"}}`,
	}, Body: `{"requirement":{{printf "%q" .Params.requirement}},"build":"{{.Inputs.build}}"}`}),
		withParams(map[string]any{"base": srv.URL, "env": "prod", "requirement": `say "hi"`}),
		withInputs(map[string]string{"build": "v1.2.3"}))

	assert.Equal(t, `{"id":42}`, res.Output)
	assert.Equal(t, http.StatusCreated, res.HTTPStatus)
	assert.Equal(t, 9, res.OutputBytes)
	assert.False(t, res.Truncated)
	assert.Nil(t, res.ExitCode)

	reqs := requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, http.MethodPost, r.Method, "POST by default with a body")
	assert.Equal(t, "/deploy/deploy", r.Path)
	assert.Equal(t, "run=wf-1&env=prod", r.RawQuery)
	assert.Equal(t, "Bearer tok-123", r.Header.Get("Authorization"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "v1.2.3", r.Header.Get("X-Build"))
	assert.Equal(t, `{"requirement":"say \"hi\"","build":"v1.2.3"}`, r.Body)

	assert.NotContains(t, h.logs.String(), "tok-123", "secrets are not logged")
	assert.NotContains(t, h.logs.String(), "v1.2.3", "headers and bodies are not logged")
}

func TestHTTPTemplateJSON(t *testing.T) {
	srv, requests := server(t, answer(http.StatusOK, "ok"))
	h := newHarness(t)
	h.mustRun(httpNode(dag.HTTPSpec{
		URL:  srv.URL,
		Body: `{"requirement":{{json .Params.requirement}},"tests":{{json (index .Inputs "test")}},"n":{{json .Params.n}}}`,
	}),
		withParams(map[string]any{"requirement": "quote \" and\nnewline <b>", "n": 3}),
		withInputs(map[string]string{"test": "ok\tdone"}))
	reqs := requests()
	require.Len(t, reqs, 1)
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(reqs[0].Body), &body), reqs[0].Body)
	assert.Equal(t, map[string]any{"requirement": "quote \" and\nnewline <b>", "tests": "ok\tdone", "n": float64(3)}, body)
}

func TestHTTPContentType(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		headers map[string]string
		want    []string // the Content-Type values received; nil: none
	}{
		{name: "JSON object", body: `{"ok": true}`, want: []string{"application/json"}},
		{name: "JSON after templating", body: `{"n": {{json .Params.n}}}`, want: []string{"application/json"}},
		{name: "JSON list", body: ` [1, 2] `, want: []string{"application/json"}},
		{name: "not JSON", body: "name=x&y=2", want: nil},
		{name: "no body", body: "", want: nil},
		{name: "text that only looks like JSON after templating", body: `{"n": {{.Params.n}}`, want: nil},
		{name: "given", body: `{"ok": true}`, headers: map[string]string{"Content-Type": "application/vnd.api+json"},
			want: []string{"application/vnd.api+json"}},
		{name: "given in lower case", body: `{"ok": true}`, headers: map[string]string{"content-type": "text/plain"},
			want: []string{"text/plain"}},
		{name: "given in odd case, templated", body: `[]`, headers: map[string]string{"CONTENT-type": "{{.Params.ct}}"},
			want: []string{"application/merge-patch+json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, requests := server(t, answer(http.StatusOK, "ok"))
			h := newHarness(t)
			h.mustRun(httpNode(dag.HTTPSpec{URL: srv.URL, Method: http.MethodPost, Body: tt.body, Headers: tt.headers}),
				withParams(map[string]any{"n": 7, "ct": "application/merge-patch+json"}))
			reqs := requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tt.want, reqs[0].Header.Values("Content-Type"))
		})
	}
}

func TestHTTPMethods(t *testing.T) {
	tests := []struct {
		method, body, want string
	}{
		{"", "", http.MethodGet},
		{"", "x", http.MethodPost},
		{"put", "x", http.MethodPut},
		{"DELETE", "", http.MethodDelete},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			srv, requests := server(t, answer(http.StatusOK, "ok"))
			h := newHarness(t)
			res := h.mustRun(httpNode(dag.HTTPSpec{URL: srv.URL + "/x", Method: tt.method, Body: tt.body}))
			assert.Equal(t, "ok", res.Output)
			assert.Equal(t, http.StatusOK, res.HTTPStatus)
			reqs := requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, tt.want, reqs[0].Method)
			assert.Equal(t, tt.body, reqs[0].Body)
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		typ       string
		retryable bool
		status    int
		message   string
		delay     time.Duration
	}{
		{
			name: "404", handler: answer(http.StatusNotFound, "no such thing\n"),
			typ: ErrTypeHTTPClient, status: 404, message: "HTTP 404 Not Found from GET {url}/items: no such thing",
		},
		{
			name: "401 empty body", handler: answer(http.StatusUnauthorized, ""),
			typ: ErrTypeHTTPClient, status: 401, message: "HTTP 401 Unauthorized from GET {url}/items",
		},
		{
			name: "500", handler: answer(http.StatusInternalServerError, "boom"),
			typ: ErrTypeHTTPServer, retryable: true, status: 500, message: "HTTP 500 Internal Server Error from GET {url}/items: boom",
		},
		{
			name: "503 with Retry-After", handler: answer(http.StatusServiceUnavailable, "", "Retry-After", "3"),
			typ: ErrTypeHTTPServer, retryable: true, status: 503, message: "HTTP 503 Service Unavailable from GET {url}/items", delay: 3 * time.Second,
		},
		{
			name: "429 with Retry-After", handler: answer(http.StatusTooManyRequests, "slow down", "Retry-After", "7"),
			typ: ErrTypeHTTPServer, retryable: true, status: 429, message: "HTTP 429 Too Many Requests from GET {url}/items: slow down", delay: 7 * time.Second,
		},
		{
			name: "429 without Retry-After", handler: answer(http.StatusTooManyRequests, ""),
			typ: ErrTypeHTTPServer, retryable: true, status: 429, message: "HTTP 429 Too Many Requests from GET {url}/items",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := server(t, tt.handler)
			h := newHarness(t)
			_, err := h.run(httpNode(dag.HTTPSpec{URL: srv.URL + "/items?token=s3cret"}))
			appErr, f := appError(t, err, tt.typ, tt.retryable)
			assert.Equal(t, strings.ReplaceAll(tt.message, "{url}", srv.URL), appErr.Message())
			assert.NotContains(t, appErr.Message(), "s3cret", "no query string in messages")
			assert.Equal(t, tt.status, f.HTTPStatus)
			assert.Equal(t, tt.delay, appErr.NextRetryDelay())
		})
	}
}

func TestHTTPErrorBodyCapped(t *testing.T) {
	srv, _ := server(t, answer(http.StatusBadRequest, strings.Repeat("x", 100_000)))
	h := newHarness(t, withConfig(func(c *Config) { c.MaxErrorBytes = 500 }))
	_, err := h.run(httpNode(dag.HTTPSpec{URL: srv.URL}))
	appErr, _ := appError(t, err, ErrTypeHTTPClient, false)
	assert.LessOrEqual(t, len(appErr.Message()), 500)
	assert.Contains(t, appErr.Message(), "of 100000 bytes shown]")
}

func TestHTTPNetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	h := newHarness(t)
	_, err = h.run(httpNode(dag.HTTPSpec{URL: "http://user:pw@" + addr + "/hook?key=s3cret"}))
	appErr, f := appError(t, err, ErrTypeHTTPNetwork, true)
	assert.Contains(t, appErr.Message(), "GET http://"+addr+"/hook: ")
	assert.Contains(t, appErr.Message(), "connection refused")
	assert.NotContains(t, appErr.Message(), "s3cret")
	assert.NotContains(t, appErr.Message(), "pw")
	assert.Zero(t, f.HTTPStatus)
}

func TestHTTPOutputTruncated(t *testing.T) {
	srv, _ := server(t, answer(http.StatusOK, strings.Repeat("b", 10_000)))
	h := newHarness(t, withConfig(func(c *Config) { c.MaxOutputBytes = 100 }))
	res := h.mustRun(httpNode(dag.HTTPSpec{URL: srv.URL}))
	assert.True(t, res.Truncated)
	assert.Equal(t, 10_000, res.OutputBytes)
	assert.LessOrEqual(t, len(res.Output), 100)
	assert.True(t, strings.HasPrefix(res.Output, "bbbb"))
	assert.Contains(t, res.Output, "of 10000 bytes shown]")
}

func TestHTTPRedirectFollowed(t *testing.T) {
	var srvURL string
	srv, requests := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, srvURL+"/new", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "moved here")
	})
	srvURL = srv.URL
	h := newHarness(t)
	res := h.mustRun(httpNode(dag.HTTPSpec{URL: srv.URL + "/old"}))
	assert.Equal(t, "moved here", res.Output)
	assert.Equal(t, http.StatusOK, res.HTTPStatus)
	assert.Len(t, requests(), 2)
}

func TestHTTPCancel(t *testing.T) {
	aborted := make(chan struct{})
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			close(aborted)
		case <-time.After(30 * time.Second):
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := newHarness(t, withBackground(ctx))
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := h.run(httpNode(dag.HTTPSpec{URL: srv.URL}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "canceled")
	assert.Less(t, time.Since(start), 15*time.Second, "the server would hold the request 30 s")
	assert.Positive(t, h.heartbeats.Load(), "heartbeats while waiting")
	select {
	case <-aborted:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's request was not aborted")
	}
}
