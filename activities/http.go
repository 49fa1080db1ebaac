package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/render"
	"github.com/maestrohq/maestro/run"
)

// maxRetryAfter bounds a server's Retry-After.
const maxRetryAfter = 24 * time.Hour

// templateData is what http templates see.
type templateData struct {
	Params     map[string]any
	Inputs     map[string]string
	Node       string
	WorkflowID string
}

// httpExecutor runs http nodes.
type httpExecutor struct{}

// Run runs an http node's attempt.
func (httpExecutor) Run(ctx context.Context, a *Activities, in run.NodeInput) (run.NodeResult, error) {
	return a.runHTTP(ctx, in)
}

// runHTTP renders the executor's URL, headers and body, sends the request
// (as application/json when the body is JSON and no Content-Type header is
// given) and reads a bounded response. 2xx and 3xx succeed; 4xx fail for good except
// 429, which retries like a 5xx; no answer retries.
func (a *Activities) runHTTP(ctx context.Context, in run.NodeInput) (run.NodeResult, error) {
	e, err := specOf[*dag.HTTPSpec](in)
	if err != nil {
		return run.NodeResult{}, err
	}
	in, err = a.withFullInputs(ctx, in)
	if err != nil {
		return run.NodeResult{}, err
	}
	data := templateData{Params: in.Params, Inputs: in.Inputs, Node: in.Node.ID, WorkflowID: in.WorkflowID}
	if data.Params == nil {
		data.Params = map[string]any{}
	}
	if data.Inputs == nil {
		data.Inputs = map[string]string{}
	}

	rawURL, err := a.render(ctx, "url", e.URL, data)
	if err != nil {
		return run.NodeResult{}, err
	}
	u, perr := url.Parse(rawURL)
	if perr != nil {
		// url.Error quotes the whole URL, which may hold a secret.
		return run.NodeResult{}, configError("executor.url: rendered URL is invalid: %v", errors.Unwrap(perr))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return run.NodeResult{}, configError("executor.url: rendered URL %s is not an absolute http or https URL", redactURL(u))
	}
	where := redactURL(u)
	if a.cfg.Policy != nil {
		if err := a.cfg.Policy.HTTP.CheckURL(u, "http"); err != nil {
			return run.NodeResult{}, policyError(in.Node.ID, "url", err)
		}
	}

	body, err := a.render(ctx, "body", e.Body, data)
	if err != nil {
		return run.NodeResult{}, err
	}
	method := strings.ToUpper(e.Method)
	if method == "" {
		method = http.MethodGet
		if e.Body != "" {
			method = http.MethodPost
		}
	}
	var bodyReader io.Reader
	if body != "" {
		bodyReader = strings.NewReader(body)
	}
	req, rerr := http.NewRequestWithContext(ctx, method, rawURL, bodyReader)
	if rerr != nil {
		return run.NodeResult{}, configError("executor.method: cannot build a %q request to %s", method, where)
	}
	for _, name := range slices.Sorted(maps.Keys(e.Headers)) {
		field := "headers." + name
		if !validHeaderName(name) {
			return run.NodeResult{}, configError("executor.%s: invalid header name", field)
		}
		v, err := a.render(ctx, field, e.Headers[name], data)
		if err != nil {
			return run.NodeResult{}, err
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return run.NodeResult{}, configError("executor.%s: rendered value contains a line break or NUL", field)
		}
		if strings.EqualFold(name, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(name, v)
	}
	// Header keys are canonical, so this finds a Content-Type given in any
	// case (even with an empty value, which is then sent as given).
	if _, given := req.Header["Content-Type"]; !given && body != "" && json.Valid([]byte(body)) {
		req.Header.Set("Content-Type", "application/json")
	}

	stop := heartbeat(ctx)
	defer stop()
	resp, err := a.cfg.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return run.NodeResult{}, ctx.Err()
		}
		if denied := deniedError(in.Node.ID, "url", err); denied != nil {
			return run.NodeResult{}, denied
		}
		return run.NodeResult{}, &nodeError{
			typ: ErrTypeHTTPNetwork,
			msg: fmt.Sprintf("%s %s: %v", method, where, unwrapURLError(err)),
		}
	}
	defer resp.Body.Close()
	buf := &headBuffer{max: max(a.captureBytes(), a.cfg.MaxErrorBytes)}
	if _, err := io.Copy(buf, resp.Body); err != nil {
		if ctx.Err() != nil {
			return run.NodeResult{}, ctx.Err()
		}
		return run.NodeResult{}, &nodeError{
			typ:     ErrTypeHTTPNetwork,
			msg:     fmt.Sprintf("%s %s: HTTP %s, then reading the body failed after %d bytes: %v", method, where, resp.Status, buf.total, unwrapURLError(err)),
			failure: run.Failure{HTTPStatus: resp.StatusCode},
		}
	}

	if resp.StatusCode < 400 {
		res := a.output(buf.buf, buf.total)
		res.HTTPStatus = resp.StatusCode
		return res, nil
	}
	ne := &nodeError{
		typ:     ErrTypeHTTPClient,
		msg:     withDetail(fmt.Sprintf("HTTP %s from %s %s", statusText(resp), method, where), buf.buf, buf.total, a.cfg.MaxErrorBytes, false),
		failure: run.Failure{HTTPStatus: resp.StatusCode},
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		ne.typ = ErrTypeHTTPServer
		ne.nextDelay = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	} else {
		ne.nonRetryable = true
	}
	return run.NodeResult{}, ne
}

// httpFuncs are the functions an http node's templates may call (dag's
// validation parses them with stand-ins of the same names, dag.HTTPFuncs).
func (a *Activities) httpFuncs() template.FuncMap {
	return template.FuncMap{"env": a.templateEnv, "json": templateJSON}
}

// render executes one templated field within the worker's template limits
// and ctx (see package render). A key missing from a map is an error, so
// that a typo does not silently send "<no value>".
func (a *Activities) render(ctx context.Context, field, text string, data templateData) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := render.Parse(field, text, a.httpFuncs())
	if err != nil {
		return "", configError("executor.%s: invalid template: %v", field, err)
	}
	out, err := render.Execute(ctx, t, data, a.templateLimits())
	if err != nil {
		return "", templateError(ctx, "executor."+field, err)
	}
	return out, nil
}

// templateEnv is the templates' env function: a worker variable, which must
// be set (a missing secret should fail the node, not send an empty one).
func (a *Activities) templateEnv(name string) (string, error) {
	if a.cfg.Policy != nil && !a.cfg.Policy.EnvAllowed(name) {
		return "", fmt.Errorf("environment variable %s is not readable by the worker policy", name)
	}
	v := a.cfg.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("environment variable %s is not set on the worker", name)
	}
	return v, nil
}

// templateJSON is the templates' json function: v as a JSON value, so that a
// body can embed params and outputs safely ({"text": {{json .Params.x}}}).
func templateJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// redactURL returns u without user info, query or fragment, for messages.
func redactURL(u *url.URL) string {
	r := *u
	r.User = nil
	r.RawQuery, r.ForceQuery = "", false
	r.Fragment, r.RawFragment = "", ""
	return r.String()
}

// unwrapURLError drops the *url.Error layer, whose text quotes the full URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

func statusText(resp *http.Response) string {
	if t := http.StatusText(resp.StatusCode); t != "" {
		return fmt.Sprintf("%d %s", resp.StatusCode, t)
	}
	return strconv.Itoa(resp.StatusCode)
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date; zero
// means none (use the retry policy).
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter)
	}
	return 0
}

// validHeaderName reports whether name is an HTTP token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
