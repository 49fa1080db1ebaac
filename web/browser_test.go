package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/internal/testenv"
)

var server *testenv.Server

func TestMain(m *testing.M) {
	server = testenv.Start()
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

// chromiumPath finds a Chromium or Chrome binary, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (chromium, chromium-browser or google-chrome on PATH): the browser test needs one; " +
		"install Debian's chromium package (apt-get install chromium) to run it")
	return ""
}

// browser starts a headless Chromium for the test and returns a context for
// its actions, bounded by a timeout.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1400, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// The first call starts the browser; it must not have a timeout.
	require.NoError(t, chromedp.Do(ctx), "start Chromium")
	tctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return tctx
}

const token = "browser-admin-token"

// temporalUI is the Temporal Web UI the API names (only its links are
// checked).
const temporalUI = "http://temporal-ui.invalid:8233"

// page is an API with a token, over a real Temporal server, on loopback.
type page struct {
	t   *testing.T
	url string
}

func newPage(t *testing.T) *page {
	t.Helper()
	// A real artifact store, shared by the worker (which fills it) and
	// the API (which serves it).
	store := artifacts.NewDir(t.TempDir())
	env := server.New(t, testenv.WithActivities(activities.Config{ArtifactStore: store}))
	srv, err := api.New(api.Config{
		Runs:               env.Runs,
		Artifacts:          store,
		TemporalUI:         temporalUI,
		Namespace:          server.Namespace(),
		Logger:             slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Token:              token,
		RateLimit:          -1,
		StreamPollInterval: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return &page{t: t, url: hs.URL}
}

// call calls the API with the token and decodes its JSON answer into out.
func (p *page) call(method, path string, body, out any) int {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(p.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, p.url+path, rd)
	require.NoError(p.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(p.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(p.t, err)
	if out != nil {
		require.NoError(p.t, json.Unmarshal(data, out), "body: %s", data)
	}
	return resp.StatusCode
}

func (p *page) start(req map[string]any) string {
	p.t.Helper()
	var s api.StartResponse
	require.Equal(p.t, http.StatusCreated, p.call(http.MethodPost, "/api/workflows", req, &s))
	return s.WorkflowID
}

func (p *page) waitClosed(id string) *api.RunView {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var v api.RunView
		require.Equal(p.t, http.StatusOK, p.call(http.MethodGet, "/api/workflows/"+id, nil, &v))
		if v.Status != "running" && v.Status != "paused" {
			return &v
		}
		require.False(p.t, time.Now().After(deadline), "run %s still %s", id, v.Status)
		time.Sleep(100 * time.Millisecond)
	}
}

// domNode is an SVG node as the page draws it.
type domNode struct {
	ID    string  `json:"id"`
	State string  `json:"state"`
	Layer int     `json:"layer"`
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
}

const readNodes = `[...document.querySelectorAll('#graph g.node')].map(g => ({
  id: g.dataset.node, state: g.dataset.state, layer: +g.dataset.layer, x: +g.dataset.x, y: +g.dataset.y}))`

// poll evaluates expr in the page until it is truthy.
func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))
}

func eval[T any](t *testing.T, ctx context.Context, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	require.NoError(t, err, "evaluate %s", expr)
	return v
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(sel)))
	require.NoError(t, err, "text of %s", sel)
	return v
}

// TestRunPageInChromium drives the page in a real headless Chromium against
// a real API and Temporal server: the token prompt, the runs list, the DAG
// of an sdlc-parallel run, a node going from running to completed live
// (through the event stream, without a reload), and approving a gate from
// the node panel.
func TestRunPageInChromium(t *testing.T) {
	ctx := browser(t)
	p := newPage(t)

	// Uncaught exceptions in the page fail the test.
	var mu sync.Mutex
	var exceptions []string
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			d := e.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			mu.Lock()
			exceptions = append(exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber+1, msg))
			mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		assert.Empty(t, exceptions, "uncaught exceptions in the page")
	})

	sdlc := p.start(map[string]any{"template": "sdlc-parallel", "requirement": "a page"})
	deps := 0
	for _, n := range p.waitClosed(sdlc).Nodes {
		deps += len(n.DependsOn)
	}
	row := fmt.Sprintf(`#runs tr[data-run=%q]`, sdlc)

	// The list asks for the token first (the API answers 401), then shows
	// the run.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/#/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#login button")),
		chromedp.WaitVisible(chromedp.CSS(row)),
	))
	rowText := text(t, ctx, row)
	assert.Contains(t, rowText, "completed")
	assert.Contains(t, rowText, "sdlc-parallel")
	assert.Contains(t, rowText, "a page", "the requirement is in the list")

	// The run's DAG: 7 nodes in layers, backend ∥ frontend, edges.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row+" a")),
		poll(`document.querySelectorAll('#graph g.node[data-state=completed]').length === 7`),
	))
	nodes := eval[[]domNode](t, ctx, readNodes)
	require.Len(t, nodes, 7)
	byID := map[string]domNode{}
	for _, n := range nodes {
		byID[n.ID] = n
	}
	assert.Equal(t, 0, byID["requirements"].Layer)
	assert.Equal(t, byID["backend"].Layer, byID["frontend"].Layer, "backend and frontend share a layer")
	assert.Equal(t, byID["backend"].X, byID["frontend"].X)
	assert.NotEqual(t, byID["backend"].Y, byID["frontend"].Y, "stacked in their layer")
	assert.Equal(t, byID["backend"].Layer+1, byID["testing"].Layer)
	assert.Greater(t, byID["deployment"].X, byID["review"].X, "left to right")
	assert.True(t, eval[bool](t, ctx, `!!document.querySelector('path.edge[data-from=backend][data-to=testing]')`), "an edge backend → testing")
	assert.Equal(t, deps, eval[int](t, ctx, `document.querySelectorAll('path.edge').length`), "one edge per dependency")

	// A live run: node "slow" is seen running, then completed, in place.
	live := p.start(map[string]any{"dag": map[string]any{"name": "live", "nodes": []any{
		map[string]any{"id": "slow", "executor": map[string]any{"kind": "noop", "duration": "3s"}},
		map[string]any{"id": "after", "depends_on": []string{"slow"}, "executor": map[string]any{"kind": "noop"}},
	}}})
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`window.notReloaded = true; location.hash = '#/runs/' + `+fmt.Sprintf("%q", live)),
		poll(`(() => { const g = document.querySelector('g.node[data-node=slow]');
			if (!g || g.dataset.state !== 'running') return false; window.slowNode = g; return true })()`),
		// The node went running over the stream the page opened after the
		// login (cur.ws), which is live.
		poll(`(() => { if (!cur.ws || cur.ws.readyState !== WebSocket.OPEN || document.querySelector('#conn').textContent !== 'live') return false;
			window.slowStream = cur.ws; return true })()`),
		poll(`!document.querySelector('#cancel').hidden && !document.querySelector('#pause').hidden`),
	))
	// A progress event shows its step under the running node (noop nodes
	// report none, so the event is handed to the page's handler).
	assert.Equal(t, "run go test ./...", eval[string](t, ctx, `(() => {
		onEvent({type: 'node_progress', node: 'slow', node_status: 'running', status: 'running', progress: {step: 'run go test ./...'}});
		return document.querySelector('g.node[data-node=slow] .nstep').textContent })()`))
	assert.True(t, eval[bool](t, ctx, `document.querySelector('#retry').hidden && document.querySelector('#resume').hidden`),
		"retry and resume are hidden while the run runs")
	require.NoError(t, chromedp.Do(ctx,
		poll(`document.querySelector('g.node[data-node=slow]').dataset.state === 'completed'`),
		poll(`document.querySelector('g.node[data-node=after]').dataset.state === 'completed'`),
		poll(`document.querySelector('#run-status').textContent === 'completed'`),
	))
	assert.True(t, eval[bool](t, ctx, `window.slowNode === document.querySelector('g.node[data-node=slow]') && window.slowNode.isConnected`),
		"the node was updated in place, not redrawn")
	assert.True(t, eval[bool](t, ctx, `window.notReloaded === true`), "the page was not reloaded")
	assert.True(t, eval[bool](t, ctx, `['pause', 'resume', 'cancel', 'retry'].every(b => document.querySelector('#' + b).hidden)`),
		"no run button applies to a completed run")

	// The event stream after the login: the page offered the token as a
	// subprotocol and the server took the stream (it answers maestro.v1);
	// the same stream without the token is refused.
	assert.Equal(t, "maestro.v1", eval[string](t, ctx, `window.slowStream.protocol`), "the stream the page opened after the login")
	assert.True(t, eval[bool](t, ctx, `window.slowStream.url.endsWith('/events')`))
	assert.Equal(t, "refused", eval[string](t, ctx, `new Promise((resolve) => {
		const ws = new WebSocket(window.slowStream.url, ['maestro.v1']);
		ws.onopen = () => { ws.close(); resolve('opened') };
		ws.onerror = () => resolve('refused');
	})`, chromedp.EvalAwaitPromise), "the event stream needs the token")

	// A failed run: its failed node, the node's error in its panel, and
	// the run's status.
	broken := p.start(map[string]any{"dag": map[string]any{"name": "broken", "nodes": []any{
		map[string]any{"id": "build", "retry": map[string]any{"max_attempts": 1},
			"executor": map[string]any{"kind": "command", "argv": []string{"sh", "-c", "echo the build broke >&2; exit 1"}}},
		map[string]any{"id": "ship", "depends_on": []string{"build"}, "executor": map[string]any{"kind": "noop"}},
	}}})
	bv := p.waitClosed(broken)
	require.Equal(t, "failed", string(bv.Status))
	buildErr := bv.Node("build").Error
	require.NotEmpty(t, buildErr)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`location.hash = '#/runs/' + `+fmt.Sprintf("%q", broken)),
		poll(`document.querySelector('#run-status').textContent === 'failed'`),
		chromedp.WaitVisible(chromedp.CSS(`g.node[data-node=build][data-state=failed]`)),
		chromedp.Click(chromedp.CSS(`g.node[data-node=build]`)),
		chromedp.WaitVisible(chromedp.CSS(`#panel pre.err`)),
	))
	assert.NotEqual(t, "completed", eval[string](t, ctx, `document.querySelector('g.node[data-node=ship]').dataset.state`))
	assert.Equal(t, buildErr, text(t, ctx, `#panel pre.err`), "the node's error in its panel")
	assert.Contains(t, buildErr, "the build broke", "the command's stderr")
	assert.Contains(t, text(t, ctx, "#panel"), "failed")
	assert.True(t, eval[bool](t, ctx, `!document.querySelector('#retry').hidden`), "a failed run can be retried")
	require.NoError(t, chromedp.Do(ctx, poll(`!document.querySelector('#temporal-link').hidden`)))
	assert.Equal(t, temporalUI+"/namespaces/"+server.Namespace()+"/workflows/"+broken+"/"+bv.RunID+"/history",
		eval[string](t, ctx, `document.querySelector('#temporal-link').href`), "the run in the Temporal Web UI")

	// A long output: the panel shows its summary, then the full output
	// from the artifact store.
	chatty := p.start(map[string]any{"dag": map[string]any{"name": "chatty", "nodes": []any{
		map[string]any{"id": "log", "executor": map[string]any{"kind": "command", "argv": []string{"seq", "1", "400"}}},
	}}})
	require.True(t, p.waitClosed(chatty).Node("log").OutputTruncated, "the status has only a summary")
	var full strings.Builder
	for i := 1; i <= 400; i++ {
		fmt.Fprintf(&full, "%d\n", i)
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`location.hash = '#/runs/' + `+fmt.Sprintf("%q", chatty)),
		chromedp.WaitVisible(chromedp.CSS(`g.node[data-node=log][data-state=completed]`)),
		chromedp.Click(chromedp.CSS(`g.node[data-node=log]`)),
		chromedp.WaitVisible(chromedp.CSS(`#panel #show-output`)),
	))
	summary := strings.TrimSuffix(text(t, ctx, "#node-output"), "…")
	assert.True(t, strings.HasPrefix(full.String(), summary) && len(summary) < full.Len(), "a summary first: %q", summary)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#show-output`)),
		poll(`document.querySelector('#node-output').textContent.endsWith('\n400\n')`),
	))
	assert.Equal(t, full.String(), text(t, ctx, "#node-output"), "the full output, with the token")
	assert.Equal(t, "Output (full)", eval[string](t, ctx, `document.querySelector('#node-output').previousElementSibling.textContent`))

	// The layout of 500 nodes: linear time, one layer per longest path, and
	// a scrollable graph.
	type layoutResult struct {
		Layers, MaxRows, LastLayer int
		Ms                         float64
	}
	lr := eval[layoutResult](t, ctx, `(() => {
		const nodes = [];
		for (let i = 0; i < 500; i++) nodes.push({id: 'n' + i, depends_on: i === 0 ? [] : i % 10 === 0 ? ['n' + (i - 10), 'n' + (i - 1)] : ['n' + (i - (i % 10))]});
		const t0 = performance.now();
		const l = layout(nodes);
		return {layers: l.layers, maxRows: l.maxRows, lastLayer: l.pos.get('n499').layer, ms: performance.now() - t0};
	})()`)
	assert.Equal(t, 100, lr.Layers, "chains of 10 fanned out: 2 layers each, but the first")
	assert.Equal(t, 9, lr.MaxRows)
	assert.Equal(t, 99, lr.LastLayer)
	// Generous (a loaded machine is slow; a quadratic layout takes
	// seconds): the figure is logged for the record.
	assert.Less(t, lr.Ms, 5000.0, "layout of 500 nodes in %.1f ms", lr.Ms)
	t.Logf("layout of 500 nodes: %.1f ms", lr.Ms)
	assert.Equal(t, "auto", eval[string](t, ctx, `getComputedStyle(document.querySelector('#graph')).overflow`))

	// The start form: an error from the API is shown next to it; a good
	// request opens the new run's page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`location.hash = '#/'`),
		poll(`!!document.querySelector('#template option[value="sdlc-parallel"]') && !document.querySelector('#list-view').hidden`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#template').append(new Option('no-such-template', 'no-such-template', true, true))`),
		chromedp.Click(chromedp.CSS(`#start-form button`)),
		poll(`document.querySelector('#start-msg').classList.contains('err')`),
	))
	assert.Contains(t, text(t, ctx, "#start-msg"), "no-such-template")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#template').value = 'sdlc-parallel'`),
		chromedp.SendKeys(chromedp.CSS("#requirement"), "from the form"),
		chromedp.Click(chromedp.CSS(`#start-form button`)),
		poll(`location.hash.startsWith('#/runs/') && document.querySelectorAll('#graph g.node').length === 7`),
	))
	formRun := strings.TrimPrefix(eval[string](t, ctx, `decodeURIComponent(location.hash)`), "#/runs/")
	assert.NotEqual(t, sdlc, formRun)
	p.waitClosed(formRun)

	// The runs list in pages of 2: "More runs" appends the next page until
	// there is none; the template and status filters. (The namespace may
	// hold other tests' runs: only this test's are checked.)
	closed := []string{sdlc, live, broken, chatty, formRun}
	require.Eventually(t, func() bool { // visibility lags a little
		var l api.ListResponse
		p.call(http.MethodGet, "/api/workflows?status=active&page_size=1000", nil, &l)
		for _, w := range l.Workflows {
			if slices.Contains(closed, w.WorkflowID) {
				return false
			}
		}
		p.call(http.MethodGet, "/api/workflows?page_size=1000", nil, &l)
		n := 0
		for _, w := range l.Workflows {
			if slices.Contains(closed, w.WorkflowID) {
				n++
			}
		}
		return n == len(closed)
	}, 30*time.Second, 100*time.Millisecond)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`location.hash = '#/?page_size=2'`),
		poll(`document.querySelectorAll('#runs tbody tr').length === 2 && !document.querySelector('#more').hidden`),
	))
	listed := eval[[]string](t, ctx, `(async () => {
		const more = document.querySelector('#more'), rows = () => document.querySelectorAll('#runs tbody tr').length;
		for (let i = 0; i < 500 && !more.hidden; i++) {
			const n = rows();
			more.click();
			while (more.disabled || (rows() === n && !more.hidden)) await new Promise((r) => setTimeout(r, 50));
		}
		return [...document.querySelectorAll('#runs tbody tr')].map((tr) => tr.dataset.run);
	})()`, chromedp.EvalAwaitPromise)
	assert.Greater(t, len(listed), 2, "more than one page")
	assert.Len(t, listed, len(slices.Compact(slices.Sorted(slices.Values(listed)))), "no run twice")
	assert.Subset(t, listed, closed, "every run, over the pages")
	ours, err := json.Marshal(closed)
	require.NoError(t, err)
	listedRuns := `[...document.querySelectorAll('#runs tbody tr')].map((tr) => tr.dataset.run).filter((id) => ` + string(ours) + `.includes(id)).sort().join(' ')`
	filter := func(template, status string, want ...string) {
		t.Helper()
		slices.Sort(want)
		require.NoError(t, chromedp.Do(ctx,
			chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
				document.querySelector('#template-filter').value = %q;
				const s = document.querySelector('#status-filter');
				s.value = %q;
				s.dispatchEvent(new Event('change')) })()`, template, status)),
			poll(fmt.Sprintf(`%s === %q`, listedRuns, strings.Join(want, " "))),
		), "template %q, status %q: want %v, have %s", template, status, want, eval[string](t, ctx, listedRuns))
	}
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`location.hash = '#/'`), // pages of 50
		poll(`document.querySelectorAll('#runs tbody tr').length > 2`),
	))
	filter("sdlc-parallel", "", sdlc, formRun)
	filter("", "failed", broken)
	filter("sdlc-parallel", "failed")
	filter("", "", closed...)

	// Approving a gate from the node panel.
	gated := p.start(map[string]any{"dag": map[string]any{"name": "gated", "nodes": []any{
		map[string]any{"id": "gate", "executor": map[string]any{"kind": "approval"}},
		map[string]any{"id": "ship", "depends_on": []string{"gate"}, "executor": map[string]any{"kind": "noop"}},
	}}})
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/#/runs/"+gated), // a new page: the token is kept for the tab
		chromedp.WaitVisible(chromedp.CSS(`g.node[data-node=gate][data-state=waiting_approval]`)),
		chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(`g.node[data-node=gate]`)),
		chromedp.WaitVisible(chromedp.CSS("#panel #approve")),
		chromedp.WaitVisible(chromedp.CSS("#panel #reject")),
		chromedp.SendKeys(chromedp.CSS("#approve-comment"), "looks good"),
		chromedp.Click(chromedp.CSS("#approve")),
		poll(`document.querySelector('g.node[data-node=ship]').dataset.state === 'completed'`),
		poll(`document.querySelector('#panel').textContent.includes('looks good')`),
	))
	// The page stops following the gated run, so that its last events
	// cannot replace the synthetic runs handed to the page below.
	require.NoError(t, chromedp.Do(ctx,
		poll(`document.querySelector('#run-status').textContent === 'completed'`),
		chromedp.Evaluate[chromedp.Void](`view(); view = null`),
	))

	// What the panel shows of agents, repairs and budgets (a synthetic run
	// handed to the page: these need a model).
	type panelTexts struct{ Bar, Code, Test string }
	pt := eval[panelTexts](t, ctx, `(() => {
		const usage = {model: 'm1', input_tokens: 1200, output_tokens: 300, cost_usd: 0.0123};
		applyRun({workflow_id: 'synthetic', pipeline: 'synthetic', status: 'running', usage,
			budget: {usd: 1, tokens: 0, spent_usd: 1.02, spent_tokens: 5000}, nodes: [
			{id: 'code', status: 'waiting_budget', attempts: 1, depends_on: [], usage},
			{id: 'test', status: 'completed', attempts: 3, depends_on: ['code'], last_error: '',
				commit: {sha: 'abcdef0123456789', changed: true, files: 2, insertions: 10, deletions: 1},
				repairs: [{round: 1, state: 'fixed', exit_code: 1, output_tail: 'FAIL: TestX', commit: {sha: '0123456789abcdef', changed: true},
					usage: {model: 'm1', input_tokens: 10, output_tokens: 5, cost_unknown: true}}]}]});
		const bar = document.querySelector('#run-progress').textContent;
		select('code');
		const code = document.querySelector('#panel').textContent;
		select('test');
		return {bar, code, test: document.querySelector('#panel').textContent};
	})()`)
	assert.Contains(t, pt.Bar, "m1: 1200 in, 300 out, $0.0123", "the run's usage and cost")
	assert.Contains(t, pt.Bar, "budget: $1.0200 of $1.0000")
	assert.Contains(t, pt.Code, "m1: 1200 in, 300 out, $0.0123", "a node's tokens and cost")
	assert.Contains(t, pt.Code, "Waiting for budget")
	assert.Contains(t, pt.Code, "$1.0200 of $1.0000")
	assert.Contains(t, pt.Test, "Repair rounds")
	assert.Contains(t, pt.Test, "fixed · failure: exit 1 · fix 0123456789ab")
	assert.Contains(t, pt.Test, "cost unknown")
	assert.Contains(t, pt.Test, "FAIL: TestX")
	assert.Contains(t, pt.Test, "2 files, +10 −1")
	assert.True(t, eval[bool](t, ctx, `!!document.querySelector('#panel #show-diff')`), "a diff button for a node with a commit")

	// Drawing 500 nodes (a synthetic run handed to the page): all drawn,
	// quickly, in a graph that scrolls.
	type drawResult struct {
		Nodes, Edges               int
		Ms                         float64
		ScrollWidth, ClientWidth   int
		ScrollHeight, ClientHeight int
	}
	dr := eval[drawResult](t, ctx, `(() => {
		const nodes = [];
		for (let i = 0; i < 500; i++) nodes.push({id: 'n' + i, status: i % 3 ? 'pending' : 'completed', attempts: 1,
			depends_on: i < 20 ? [] : ['n' + (i - 20), 'n' + (i - 19 - (i % 20 === 19 ? 20 : 0))]});
		const t0 = performance.now();
		applyRun({workflow_id: 'big', pipeline: 'big', status: 'completed', nodes});
		const ms = performance.now() - t0;
		const g = document.querySelector('#graph');
		return {nodes: g.querySelectorAll('g.node').length, edges: g.querySelectorAll('path.edge').length, ms,
			scrollWidth: g.scrollWidth, clientWidth: g.clientWidth, scrollHeight: g.scrollHeight, clientHeight: g.clientHeight};
	})()`)
	assert.Equal(t, 500, dr.Nodes)
	assert.Equal(t, 2*480, dr.Edges)
	assert.Less(t, dr.Ms, 10000.0, "drawing 500 nodes took %.0f ms", dr.Ms)
	t.Logf("drawing 500 nodes and %d edges: %.0f ms", dr.Edges, dr.Ms)
	assert.Greater(t, dr.ScrollWidth, dr.ClientWidth, "the graph scrolls sideways")
	assert.Greater(t, dr.ScrollHeight, dr.ClientHeight, "the graph scrolls down")

	// Zooming the 500 nodes: the buttons and Ctrl + wheel scale the graph;
	// "fit" shows all of it.
	nodeWidth := func() float64 {
		t.Helper()
		return eval[float64](t, ctx, `document.querySelector('g.node[data-node=n250] rect').getBoundingClientRect().width`)
	}
	zoom := func() float64 {
		t.Helper()
		return eval[float64](t, ctx, `+document.querySelector('#graph').dataset.zoom`)
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#zoom-reset"))))
	w1 := nodeWidth()
	assert.InDelta(t, 170, w1, 1, "1:1")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#zoom-out")), chromedp.Click(chromedp.CSS("#zoom-out"))))
	assert.InDelta(t, w1/1.25/1.25, nodeWidth(), 1, "zoomed out twice")
	assert.Equal(t, "64%", text(t, ctx, "#zoom-level"))
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#zoom-in"))))
	assert.InDelta(t, w1/1.25, nodeWidth(), 1, "zoomed in again")
	before := zoom()
	r := eval[map[string]float64](t, ctx, `(() => { const r = document.querySelector('#graph').getBoundingClientRect(); return {x: r.x + 200, y: r.y + 200} })()`)
	wheel := func(dy float64) chromedp.MouseOption {
		// Chromium wants deltaX too, which cdproto leaves out when zero.
		return func(p *input.DispatchMouseEventParams) { p.DeltaX, p.DeltaY = 1e-9, dy }
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, r["x"], r["y"],
		wheel(-240), chromedp.ButtonModifiers(chromedp.ModifierCtrl))))
	require.NoError(t, chromedp.Do(ctx, poll(fmt.Sprintf(`+document.querySelector('#graph').dataset.zoom > %f`, before))))
	assert.InDelta(t, w1*zoom(), nodeWidth(), 1, "Ctrl + wheel zooms in")
	zoomed := zoom()
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, r["x"], r["y"], wheel(240))))
	assert.Equal(t, zoomed, zoom(), "a plain wheel scrolls, it does not zoom")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#zoom-fit"))))
	fit := eval[map[string]float64](t, ctx, `(() => { const g = document.querySelector('#graph');
		return {sw: g.scrollWidth, cw: g.clientWidth, sh: g.scrollHeight, ch: g.clientHeight, zoom: +g.dataset.zoom} })()`)
	assert.LessOrEqual(t, fit["sw"], fit["cw"], "fit: no sideways scrolling")
	assert.LessOrEqual(t, fit["sh"], fit["ch"], "fit: no scrolling down")
	assert.Less(t, fit["zoom"], 0.5)
	t.Logf("500 nodes fit at zoom %.2f", fit["zoom"])

	v := p.waitClosed(gated)
	assert.Equal(t, "completed", string(v.Status))
	for _, n := range v.Nodes {
		if n.ID == "gate" {
			require.NotNil(t, n.Approval)
			assert.True(t, n.Approval.Approved)
			assert.Equal(t, "looks good", n.Approval.Comment)
		}
	}
}
