package dag

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/template"
)

// KindHTTP sends an HTTP request.
const KindHTTP = "http"

// HTTPSpec configures an http node. URL, headers and body are Go templates
// over the params, the dependencies' outputs, the node ID and the workflow ID.
type HTTPSpec struct {
	// Method is the request method; default GET, or POST with a body.
	Method string `json:"method,omitempty"`
	// URL is the request URL, templated.
	URL string `json:"url,omitempty"`
	// Headers are request headers, templated (use {{env "NAME"}} for
	// secrets).
	Headers map[string]string `json:"headers,omitempty"`
	// Body is the request body, templated. When it is JSON and no
	// Content-Type header is given, it is sent as application/json.
	Body string `json:"body,omitempty"`
}

// Kind returns KindHTTP.
func (*HTTPSpec) Kind() string { return KindHTTP }

// Validate checks the URL (unless templated) and the method.
func (s *HTTPSpec) Validate() []Problem {
	var ps problems
	if s.URL == "" {
		ps.add("url", "is required")
	} else if !strings.Contains(s.URL, "{{") && !absoluteHTTPURL(s.URL) {
		ps.add("url", "%q is not an absolute http or https URL", s.URL)
	}
	if s.Method != "" && !validMethod(s.Method) {
		ps.add("method", "unknown HTTP method %q", s.Method)
	}
	return ps
}

// templateProblems reports the templates (url, headers, body) that do not
// parse, which would fail the node with a ConfigError once it started. It
// is a check of ValidateStart: a run started before it replays unchanged.
func (s *HTTPSpec) templateProblems() []Problem {
	var ps problems
	fields := s.templates()
	for _, field := range slices.Sorted(maps.Keys(fields)) {
		if text := fields[field]; strings.Contains(text, "{{") {
			if _, err := template.New(field).Funcs(HTTPFuncs()).Parse(text); err != nil {
				ps.add(field, "invalid template: %v", err)
			}
		}
	}
	return ps
}

// HTTPFuncs stands for the functions a worker gives an http node's
// templates (env, json), so that validation parses them as the worker
// will; they are never called here.
func HTTPFuncs() template.FuncMap {
	return template.FuncMap{
		"env":  func(string) (string, error) { return "", nil },
		"json": func(any) (string, error) { return "", nil },
	}
}

func validMethod(m string) bool {
	switch strings.ToUpper(m) {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}
