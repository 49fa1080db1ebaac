package web_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestScreenshots writes the README's screenshots (PNG) of the page (the runs
// list, a running sdlc-parallel run, a 500-node run) into the directory
// MAESTRO_SCREENSHOTS names; without it, it skips:
//
//	MAESTRO_SCREENSHOTS=$PWD/docs go test -run TestScreenshots ./web/
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("MAESTRO_SCREENSHOTS")
	if dir == "" {
		t.Skip("set MAESTRO_SCREENSHOTS to a directory to write the screenshots")
	}
	ctx := browser(t)
	p := newPage(t)
	shot := func(name, url, ready string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(url), poll(ready)))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), png, 0o644))
	}
	// Some history for the list, then a run whose backend and frontend
	// are still running.
	for _, req := range []string{"a todo app", "a chat service"} {
		p.waitClosed(p.start(map[string]any{"template": "sdlc-linear", "requirement": req}))
	}
	slow := func(id string, deps ...string) map[string]any {
		return map[string]any{"id": id, "phase": id, "depends_on": deps, "executor": map[string]any{"kind": "noop", "duration": "60s"}}
	}
	fast := func(id string, deps ...string) map[string]any {
		return map[string]any{"id": id, "phase": id, "depends_on": deps, "executor": map[string]any{"kind": "noop"}}
	}
	running := p.start(map[string]any{"dag": map[string]any{"name": "sdlc-parallel", "mode": "dag_parallel", "nodes": []any{
		fast("requirements"), fast("design", "requirements"), slow("backend", "design"), slow("frontend", "design"),
		fast("testing", "backend", "frontend"), fast("review", "testing"), fast("deployment", "review"),
	}}, "requirement": "a todo app"})
	t.Cleanup(func() { p.call("POST", "/api/workflows/"+running+"/cancel", nil, nil) })

	// The token, once per browser session.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(p.url+"/#/"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Click(chromedp.CSS("#login button")),
	))
	shot("page-runs.png", p.url+"/#/", fmt.Sprintf(`!!document.querySelector('#runs tr[data-run=%q]')`, running))
	shot("page-run.png", p.url+"/#/runs/"+running, `document.querySelectorAll('#graph g.node[data-state=running]').length === 2`)

	var nodes []any
	for i := range 500 {
		n := fast(fmt.Sprintf("n%d", i))
		if i >= 5 {
			n["depends_on"] = []string{fmt.Sprintf("n%d", i-5)}
		}
		nodes = append(nodes, n)
	}
	big := p.start(map[string]any{"dag": map[string]any{"name": "five-hundred", "mode": "dag_parallel", "nodes": nodes}})
	p.waitClosed(big)
	shot("page-500.png", p.url+"/#/runs/"+big, `document.querySelectorAll('#graph g.node').length === 500`)
}
