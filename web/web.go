// Package web is Maestro's run page: a small single-page app (plain HTML,
// one script, one style sheet, no build step) embedded in the binary and
// served by the REST API at / and /assets/. The page holds no data of its
// own: it calls the API (with the bearer token the user gives it, kept in
// the tab's sessionStorage) and follows a run's event stream.
package web

import (
	"bytes"
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// FS holds the page's files: index.html and assets/ (app.js, app.css).
var FS fs.FS = mustSub(static, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

// ContentSecurityPolicy is sent with every file of the page: scripts,
// styles and connections (fetch and the event stream) from the page's own
// origin only.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// modTime is the files' modification time for conditional requests: the
// process start (embedded files have none).
var modTime = time.Now()

// Handler serves the page: GET / is index.html and GET /assets/<file> a
// file of assets/; anything else, directories included, is 404.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "index.html"
		if r.URL.Path != "/" && r.URL.Path != "/index.html" {
			p := path.Clean(r.URL.Path)
			rest, ok := strings.CutPrefix(p, "/assets/")
			if !ok || rest == "" || strings.HasSuffix(r.URL.Path, "/") {
				http.NotFound(w, r)
				return
			}
			name = "assets/" + rest
		}
		data, err := fs.ReadFile(FS, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
			h.Set("Content-Type", ct)
		}
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, name, modTime, bytes.NewReader(data))
	})
}
