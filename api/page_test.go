package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
)

// TestRunPageIsServedWithoutAToken: with tokens configured, the run page
// (/ and its assets) needs none — it holds no data — while the API still
// does.
func TestRunPageIsServedWithoutAToken(t *testing.T) {
	h := newHarness(t, func(c *api.Config) {
		c.Token = "page-admin-token"
		c.Tokens = []api.Token{{Role: api.RoleRead, Secret: "page-read-token"}}
	})

	r := h.do(http.MethodGet, "/", nil)
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	assert.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/html"), r.header.Get("Content-Type"))
	html := string(r.body)
	// An external script (no inline code), so a strict CSP holds.
	assert.Regexp(t, regexp.MustCompile(`<script src="/assets/app\.js"[^>]*></script>`), html)
	assert.Contains(t, html, `href="/assets/app.css"`)
	assert.NotRegexp(t, regexp.MustCompile(`<script>`), html, "no inline script")
	csp := r.header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src 'self'")
	assert.Contains(t, csp, "connect-src 'self'")
	for _, id := range []string{`id="runs"`, `id="panel"`, `id="graph"`, `id="login"`} {
		assert.Contains(t, html, id)
	}

	js := h.do(http.MethodGet, "/assets/app.js", nil)
	require.Equal(t, http.StatusOK, js.code)
	assert.Regexp(t, `^(text|application)/javascript`, js.header.Get("Content-Type"))
	assert.Equal(t, "nosniff", js.header.Get("X-Content-Type-Options"))
	assert.Contains(t, string(js.body), "maestro.token.")

	css := h.do(http.MethodGet, "/assets/app.css", nil)
	require.Equal(t, http.StatusOK, css.code)
	assert.True(t, strings.HasPrefix(css.header.Get("Content-Type"), "text/css"), css.header.Get("Content-Type"))

	for _, p := range []string{"/assets/nope.js", "/assets/index.html", "/assets/%2e%2e%2fweb.go", "/assets/..%2findex.html"} {
		assert.Equal(t, http.StatusNotFound, h.do(http.MethodGet, p, nil).code, p)
	}
	// Paths outside assets/ are no route: the API's answer (401 here).
	for _, p := range []string{"/assets/", "/assets/x/app.js", "/web.go"} {
		assert.NotEqual(t, http.StatusOK, h.do(http.MethodGet, p, nil).code, p)
	}

	// The API still needs a token, and a read token is still read-only.
	assert.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, "/api/workflows", nil).code)
	assert.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, "/api/templates", nil).code)
	assert.Equal(t, http.StatusOK, h.do(http.MethodGet, "/api/templates", nil, "Authorization", "Bearer page-read-token").code)
	assert.Equal(t, http.StatusForbidden, h.do(http.MethodPost, "/api/workflows", map[string]any{"template": "sdlc-parallel"},
		"Authorization", "Bearer page-read-token").code)
	// Only GET is open: a POST to the page is no way around the token.
	assert.NotEqual(t, http.StatusOK, h.do(http.MethodPost, "/", nil).code)
}
