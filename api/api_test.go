package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/runs"
)

func TestStartTemplateAndFollowStatusToCompletion(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.do(http.MethodPost, "/api/workflows", map[string]any{"template": "sdlc-parallel", "requirement": "Build a todo app"})
	require.Equal(t, http.StatusCreated, r.code, "body: %s", r.body)
	var started map[string]any
	r.json(t, &started)
	assert.Equal(t, "running", started["status"])
	assert.NotEmpty(t, started["run_id"])
	id := started["workflow_id"].(string)

	h.waitFor(id, "completion", closed)
	raw := h.do(http.MethodGet, "/api/workflows/"+id, nil)
	require.Equal(t, http.StatusOK, raw.code)
	// The field names clients rely on, exactly.
	var doc map[string]any
	raw.json(t, &doc)
	assert.Equal(t, "completed", doc["status"])
	assert.EqualValues(t, 7, doc["completed_nodes"])
	assert.EqualValues(t, 7, doc["total_nodes"])
	nodes := doc["nodes"].([]any)
	require.Len(t, nodes, 7)
	for _, n := range nodes {
		for _, k := range []string{"id", "name", "phase", "status", "attempts", "started_at", "ended_at", "error", "output"} {
			assert.Contains(t, n, k)
		}
	}
	first := nodes[0].(map[string]any)
	assert.Equal(t, "requirements", first["id"])
	assert.Equal(t, "completed", first["status"])
	assert.EqualValues(t, 1, first["attempts"])
	assert.Contains(t, first["output"], "simulated")
}

func TestStartOriginalShapeMapsWorkflowType(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tc := range []struct{ workflowType, template, mode string }{
		{"parallel", "sdlc-parallel", "dag_parallel"},
		{"linear", "sdlc-linear", "linear"},
		{"Parallel", "sdlc-parallel", "dag_parallel"},
	} {
		t.Run(tc.workflowType, func(t *testing.T) {
			id := h.start(map[string]any{"requirement": "CSV export", "workflow_type": tc.workflowType})
			v := h.status(id)
			assert.Equal(t, tc.template, v.Template)
			assert.Equal(t, tc.mode, string(v.Mode))
			assert.Equal(t, 7, v.TotalNodes)
		})
	}
}

func TestStartInlineDAGWithOverridesAndClientID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := fmt.Sprintf("api-inline-%d", time.Now().UnixNano())
	body := map[string]any{
		"dag":          inlineDAG("inline", noopNode("a", ""), noopNode("b", "", "a"), noopNode("c", "", "a")),
		"mode":         "dag_linear",
		"max_parallel": 2,
		"timeout":      "5m",
		"params":       map[string]any{"ticket": "T-1"},
		"requirement":  "do it",
		"id":           id,
	}
	r := h.do(http.MethodPost, "/api/workflows", body)
	require.Equal(t, http.StatusCreated, r.code, "body: %s", r.body)
	var s api.StartResponse
	r.json(t, &s)
	assert.Equal(t, id, s.WorkflowID)
	assert.False(t, s.Existing)

	v := h.waitFor(id, "completion", closed)
	assert.Equal(t, "completed", string(v.Status))
	assert.Equal(t, "dag_linear", string(v.Mode))
	assert.Equal(t, []string{"a"}, node(v, "b").DependsOn)

	// The same id again is the same run, started once.
	again := h.do(http.MethodPost, "/api/workflows", body)
	require.Equal(t, http.StatusOK, again.code, "body: %s", again.body)
	var s2 api.StartResponse
	again.json(t, &s2)
	assert.Equal(t, s.RunID, s2.RunID)
	assert.True(t, s2.Existing)
	assert.Equal(t, "completed", string(s2.Status))
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
}

// notStarted asserts that no workflow exists with the given ID.
func notStarted(t *testing.T, id string) {
	t.Helper()
	_, err := server.Client.DescribeWorkflowExecution(context.Background(), id, "")
	var nf *serviceerror.NotFound
	assert.ErrorAs(t, err, &nf, "a run %s was started from a rejected request", id)
}

func TestBadStartRequestsAreRejectedWithClearErrorsAndStartNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) { c.BodyLimit = 64 << 10 })
	cycle := inlineDAG("cyclic",
		noopNode("a", "", "c"), noopNode("b", "", "a"), noopNode("c", "", "b"),
		map[string]any{"id": "bad id!", "executor": map[string]any{"kind": "teleport"}})
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
		// field or node the error must name (in message or details)
		mentions []string
	}{
		{"malformed JSON", `{"template": "sdlc-parallel",`, 400, api.CodeMalformedJSON, nil},
		{"not an object", `[1, 2]`, 400, api.CodeMalformedJSON, []string{"must be a JSON object"}},
		{"a YAML pipeline", "name: x\nnodes: []\n", 400, api.CodeMalformedJSON, []string{"must be a JSON object", "/api/dags/validate"}},
		{"empty body", ``, 400, api.CodeMalformedJSON, nil},
		{"trailing data", `{"template": "sdlc-parallel"} {}`, 400, api.CodeMalformedJSON, nil},
		{"unknown field", map[string]any{"template": "sdlc-parallel", "requirment": "typo"}, 400, api.CodeMalformedJSON, []string{"requirment"}},
		{"unknown field in the dag", map[string]any{"dag": map[string]any{"name": "x", "nodes": []any{map[string]any{"id": "a", "executor": map[string]any{"kind": "noop"}, "dependson": []string{}}}}}, 400, api.CodeMalformedJSON, []string{"dependson"}},
		{"wrong type", map[string]any{"template": "sdlc-parallel", "max_parallel": "four"}, 400, api.CodeMalformedJSON, []string{"max_parallel"}},
		{"template without a requirement", map[string]any{"template": "sdlc-parallel", "requirement": "  "}, 400, api.CodeInvalidRequest, []string{`"field":"requirement"`}},
		{"neither template nor dag", map[string]any{"requirement": "x"}, 400, api.CodeInvalidRequest, []string{"template"}},
		{"template and dag", map[string]any{"template": "sdlc-parallel", "dag": inlineDAG("x", noopNode("a", ""))}, 400, api.CodeInvalidRequest, nil},
		{"workflow_type and template", map[string]any{"template": "sdlc-parallel", "workflow_type": "linear"}, 400, api.CodeInvalidRequest, []string{"workflow_type"}},
		{"unknown template", map[string]any{"template": "sdlc-quantum", "requirement": "x"}, 422, api.CodeUnknownTemplate, []string{"sdlc-quantum"}},
		{"a long unknown template is not echoed whole", map[string]any{"template": strings.Repeat("t", 5000), "requirement": "x"}, 422, api.CodeUnknownTemplate, []string{strings.Repeat("t", 100) + `\"`}},
		{"unknown workflow_type", map[string]any{"workflow_type": "diagonal", "requirement": "x"}, 422, api.CodeUnknownTemplate, []string{"workflow_type"}},
		{"invalid mode override", map[string]any{"template": "sdlc-parallel", "requirement": "x", "mode": "sideways"}, 422, api.CodeInvalidDAG, []string{"mode"}},
		{"retry attempts over the limit", map[string]any{"dag": map[string]any{"name": "x", "nodes": []any{map[string]any{"id": "again", "executor": map[string]any{"kind": "noop"},
			"retry": map[string]any{"max_attempts": 2147483647}}}}}, 422, api.CodeInvalidDAG, []string{`"node":"again"`, `"field":"retry.max_attempts"`}},
		{"invalid DAG", map[string]any{"dag": cycle}, 422, api.CodeInvalidDAG, []string{"c -> a", "bad id!", "teleport"}},
		{"run timeout over 30 days", map[string]any{"template": "sdlc-parallel", "requirement": "x", "timeout": "999999h"}, 422, api.CodeInvalidDAG, []string{`"field":"timeout"`, "999999h exceeds the limit"}},
		{"node durations over their bounds", map[string]any{"dag": map[string]any{"name": "x", "nodes": []any{map[string]any{"id": "slowpoke", "executor": map[string]any{"kind": "noop"},
			"timeout": "999999h", "heartbeat_timeout": "999999h", "retry": map[string]any{"max_interval": "999999h"}}}}}, 422, api.CodeInvalidDAG,
			[]string{`"node":"slowpoke"`, `"field":"timeout"`, `"field":"heartbeat_timeout"`, `"field":"retry.max_interval"`}},
		{"a template looping 10^12 times", map[string]any{"dag": map[string]any{"name": "x", "nodes": []any{map[string]any{"id": "bomb",
			"executor": map[string]any{"kind": "http", "url": "http://127.0.0.1:1/", "body": "{{range 1000000000000}}{{end}}"}}}}}, 422, api.CodeInvalidDAG,
			[]string{`"node":"bomb"`, `"field":"executor.body"`, "ranges over 1000000000000 iterations"}},
		{"body over the limit", map[string]any{"template": "sdlc-parallel", "requirement": strings.Repeat("x", 70<<10)}, 413, api.CodeBodyTooLarge, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("bad-%d", time.Now().UnixNano())
			r := h.do(http.MethodPost, "/api/workflows", tc.body, "Idempotency-Key", key)
			require.Equal(t, tc.status, r.code, "body: %s", r.body)
			e := r.apiError(t)
			assert.Equal(t, tc.code, e.Code)
			assert.NotEmpty(t, e.Message)
			for _, m := range tc.mentions {
				assert.Contains(t, string(r.body), m)
			}
			id, err := runs.IdempotentID(key)
			require.NoError(t, err)
			notStarted(t, id)
		})
	}

	t.Run("invalid DAG lists every problem", func(t *testing.T) {
		r := h.do(http.MethodPost, "/api/workflows", map[string]any{"dag": cycle})
		require.Equal(t, http.StatusUnprocessableEntity, r.code)
		var body struct {
			Error struct {
				Details api.ProblemDetails `json:"details"`
			} `json:"error"`
		}
		r.json(t, &body)
		assert.GreaterOrEqual(t, len(body.Error.Details.Problems), 3, "%s", r.body)
		nodes := map[string]bool{}
		for _, p := range body.Error.Details.Problems {
			assert.NotEmpty(t, p.Field)
			nodes[p.Node] = true
		}
		assert.True(t, nodes["bad id!"] || nodes["#4"] || len(nodes) > 1, "problems name their nodes: %s", r.body)
	})

	t.Run("idempotency key too long", func(t *testing.T) {
		r := h.do(http.MethodPost, "/api/workflows", map[string]any{"template": "sdlc-parallel"}, "Idempotency-Key", strings.Repeat("k", 300))
		require.Equal(t, http.StatusBadRequest, r.code, "body: %s", r.body)
		assert.Contains(t, string(r.body), "Idempotency-Key")
	})
}

func TestConcurrentDuplicateRequestsStartExactlyOneRun(t *testing.T) {
	// Not parallel: its burst of 200 starts would stall the other tests'
	// calls to the shared server. On 2 cores (slower still under -race) the
	// starts may queue for seconds; this test is about duplicates, not latency.
	h := newHarness(t, func(c *api.Config) { c.TemporalTimeout = time.Minute })
	key := fmt.Sprintf("order-%d", time.Now().UnixNano())
	body := map[string]any{"template": "sdlc-parallel", "requirement": "once only"}
	const n = 200
	type result struct {
		code int
		resp api.StartResponse
		body string
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			r := h.do(http.MethodPost, "/api/workflows", body, "Idempotency-Key", key)
			results[i] = result{code: r.code, body: string(r.body)}
			_ = json.Unmarshal(r.body, &results[i].resp)
		})
	}
	close(gate)
	wg.Wait()

	created := 0
	runIDs := map[string]bool{}
	workflowIDs := map[string]bool{}
	for _, r := range results {
		switch r.code {
		case http.StatusCreated:
			created++
		case http.StatusOK:
			assert.True(t, r.resp.Existing)
		default:
			t.Fatalf("unexpected response %d: %s", r.code, r.body)
		}
		runIDs[r.resp.RunID] = true
		workflowIDs[r.resp.WorkflowID] = true
	}
	assert.Equal(t, 1, created, "exactly one request starts the run")
	assert.Len(t, runIDs, 1, "every response names the same run")
	assert.Len(t, workflowIDs, 1)

	// The API counted one start.
	m := h.do(http.MethodGet, "/metrics", nil)
	assert.Contains(t, string(m.body), `maestro_api_runs_started_total{template="sdlc-parallel"} 1`+"\n")
}

func TestUnknownRunIs404Everywhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/api/workflows/no-such-run"},
		{http.MethodPost, "/api/workflows/no-such-run/cancel"},
		{http.MethodPost, "/api/workflows/no-such-run/pause"},
		{http.MethodPost, "/api/workflows/no-such-run/resume"},
		{http.MethodPost, "/api/workflows/no-such-run/retry"},
		{http.MethodGet, "/api/workflows/no-such-run/events"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := h.do(tc.method, tc.path, nil)
			require.Equal(t, http.StatusNotFound, r.code, "body: %s", r.body)
			assert.Equal(t, api.CodeRunNotFound, r.apiError(t).Code)
		})
	}
	t.Run("unknown endpoint", func(t *testing.T) {
		r := h.do(http.MethodGet, "/api/nope", nil)
		require.Equal(t, http.StatusNotFound, r.code)
		assert.Equal(t, api.CodeNotFound, r.apiError(t).Code)
	})
	t.Run("wrong method", func(t *testing.T) {
		r := h.do(http.MethodDelete, "/api/workflows", nil)
		require.Equal(t, http.StatusMethodNotAllowed, r.code)
		assert.Equal(t, api.CodeMethodNotAllowed, r.apiError(t).Code)
	})
}

func TestCancelARunningPipelineRecordsFinalNodeStates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	slow := noopNode("slow", "1m", "quick")
	slow["heartbeat_timeout"] = "1s" // a cancelled node stops within it
	id := h.start(map[string]any{"dag": inlineDAG("cancel-me", noopNode("quick", ""), slow, noopNode("after", "", "slow"))})
	h.waitFor(id, "slow running", nodeIs("slow", "running"))

	r := h.do(http.MethodPost, "/api/workflows/"+id+"/cancel", nil)
	require.Equal(t, http.StatusAccepted, r.code, "body: %s", r.body)
	var c api.ControlResponse
	r.json(t, &c)
	assert.Equal(t, api.ControlResponse{WorkflowID: id, Action: "cancel", Accepted: true}, c)

	v := h.waitFor(id, "cancelled", closed)
	assert.Equal(t, "cancelled", string(v.Status))
	assert.Equal(t, "completed", string(node(v, "quick").Status))
	assert.Equal(t, "cancelled", string(node(v, "slow").Status))
	assert.NotNil(t, node(v, "slow").EndedAt)
	assert.Equal(t, "skipped", string(node(v, "after").Status))

	again := h.do(http.MethodPost, "/api/workflows/"+id+"/cancel", nil)
	assert.Equal(t, http.StatusConflict, again.code, "body: %s", again.body)
	assert.Equal(t, api.CodeRunNotRunning, again.apiError(t).Code)
}

func TestPauseAndResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.start(map[string]any{"dag": inlineDAG("pausable", noopNode("first", "500ms"), noopNode("second", "", "first"))})
	h.waitFor(id, "first running", nodeIs("first", "running"))

	r := h.do(http.MethodPost, "/api/workflows/"+id+"/pause", nil)
	require.Equal(t, http.StatusAccepted, r.code, "body: %s", r.body)
	h.waitFor(id, "paused with first done", func(v *api.RunView) bool {
		return v.Status == "paused" && node(v, "first").Status == "completed"
	})
	time.Sleep(300 * time.Millisecond)
	v := h.status(id)
	assert.Equal(t, "paused", string(v.Status))
	assert.Equal(t, "pending", string(node(v, "second").Status), "no node starts while paused")

	r = h.do(http.MethodPost, "/api/workflows/"+id+"/resume", nil)
	require.Equal(t, http.StatusAccepted, r.code, "body: %s", r.body)
	v = h.waitFor(id, "completion", closed)
	assert.Equal(t, "completed", string(v.Status))

	r = h.do(http.MethodPost, "/api/workflows/"+id+"/pause", nil)
	assert.Equal(t, http.StatusConflict, r.code, "pausing a closed run: %s", r.body)
}

func TestRetryReusesCompletedNodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	failing := noopNode("flaky", "", "good")
	failing["executor"].(map[string]any)["fail_attempts"] = 1
	failing["retry"] = map[string]any{"max_attempts": 1}
	id := h.start(map[string]any{"dag": inlineDAG("retry-me", noopNode("good", ""), failing)})
	v := h.waitFor(id, "failure", closed)
	require.Equal(t, "failed", string(v.Status))
	require.Equal(t, "failed", string(node(v, "flaky").Status))

	r := h.do(http.MethodPost, "/api/workflows/"+id+"/retry", nil)
	require.Equal(t, http.StatusCreated, r.code, "body: %s", r.body)
	var s api.StartResponse
	r.json(t, &s)
	assert.NotEqual(t, id, s.WorkflowID)
	assert.Equal(t, id, s.RetryOf)

	v2 := h.waitFor(s.WorkflowID, "retry closed", closed)
	assert.Equal(t, id, v2.RetryOf)
	good := node(v2, "good")
	assert.Equal(t, "completed", string(good.Status))
	assert.True(t, good.Reused, "the completed node is carried over, not run again")

	ok := h.start(map[string]any{"dag": inlineDAG("fine", noopNode("a", ""))})
	h.waitFor(ok, "completion", closed)
	r = h.do(http.MethodPost, "/api/workflows/"+ok+"/retry", nil)
	assert.Equal(t, http.StatusConflict, r.code)
	assert.Equal(t, api.CodeRunNotRetryable, r.apiError(t).Code)
}

func TestListFiltersByStatusAndTemplateAndPages(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	linear := h.start(map[string]any{"template": "sdlc-linear", "requirement": "list me"})
	slow := h.start(map[string]any{"dag": inlineDAG("slow-list", noopNode("wait", "1m"))})
	t.Cleanup(func() { h.do(http.MethodPost, "/api/workflows/"+slow+"/cancel", nil) })
	h.waitFor(linear, "completion", closed)

	list := func(path string) api.ListResponse {
		t.Helper()
		r := h.do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
		var l api.ListResponse
		r.json(t, &l)
		return l
	}
	has := func(l api.ListResponse, id string) bool {
		for _, w := range l.Workflows {
			if w.WorkflowID == id {
				return true
			}
		}
		return false
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		require.Eventually(t, cond, 30*time.Second, 100*time.Millisecond, what)
	}

	eventually("the linear run is listed under its template, completed", func() bool {
		l := list("/api/workflows?template=sdlc-linear&status=completed")
		for _, w := range l.Workflows {
			if w.Template != "sdlc-linear" || w.Status != "completed" {
				return false
			}
		}
		return has(l, linear)
	})
	eventually("the slow run is active", func() bool { return has(list("/api/workflows/active"), slow) })
	assert.False(t, has(list("/api/workflows?template=sdlc-parallel"), linear), "template filter excludes other templates")
	assert.False(t, has(list("/api/workflows/active"), linear), "active excludes closed runs")

	// A value that would break a naively built query is just a value.
	l := list("/api/workflows?template=" + url.QueryEscape(`x' OR WorkflowType != '`))
	assert.Empty(t, l.Workflows)

	// Pages: one run per page, the next page continues.
	first := list("/api/workflows?page_size=1")
	require.Len(t, first.Workflows, 1)
	require.NotEmpty(t, first.NextPageToken)
	second := list("/api/workflows?page_size=1&page_token=" + first.NextPageToken)
	require.Len(t, second.Workflows, 1)
	assert.NotEqual(t, first.Workflows[0].WorkflowID, second.Workflows[0].WorkflowID)

	for _, tc := range []struct{ query, field string }{
		{"status=sleeping", "status"},
		{"page_size=0", "page_size"},
		{"page_size=abc", "page_size"},
		{"page_size=100000", "page_size"},
		{"page_token=!!!", "page_token"},
		{"page_token=zzz", "page_token"},
		{"page_token=AAAA", "page_token"},
		{"page_token=e30", "page_token"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := h.do(http.MethodGet, "/api/workflows?"+tc.query, nil)
			if r.code == http.StatusBadRequest {
				assert.Contains(t, string(r.body), tc.field)
				return
			}
			t.Fatalf("want 400 naming %s, got %d: %s", tc.field, r.code, r.body)
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	valid := inlineDAG("v", noopNode("a", ""), noopNode("b", "", "a"), noopNode("c", "", "a"), noopNode("d", "", "b", "c"))
	valid["mode"] = "dag_parallel"

	r := h.do(http.MethodPost, "/api/dags/validate", valid)
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	var v api.Validation
	r.json(t, &v)
	assert.True(t, v.Valid)
	assert.Equal(t, [][]string{{"a"}, {"b", "c"}, {"d"}}, v.Levels)

	yaml := "name: y\nmode: dag_linear\nnodes:\n  - id: a\n    executor: {kind: noop}\n  - id: b\n    depends_on: [a]\n    executor: {kind: noop}\n"
	r = h.do(http.MethodPost, "/api/dags/validate", yaml)
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	r.json(t, &v)
	assert.Equal(t, []string{"a", "b"}, v.Order)

	r = h.do(http.MethodPost, "/api/dags/validate", map[string]any{"template": "sdlc-parallel", "requirement": "x", "max_parallel": 1})
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
	r.json(t, &v)
	assert.Equal(t, 1, v.Parallelism)
	assert.Len(t, v.Levels, 6)

	bad := inlineDAG("", noopNode("a", "", "ghost"), noopNode("a", "forever"))
	r = h.do(http.MethodPost, "/api/dags/validate", bad)
	require.Equal(t, http.StatusUnprocessableEntity, r.code, "body: %s", r.body)
	var body struct {
		Error struct {
			Code    string             `json:"code"`
			Details api.ProblemDetails `json:"details"`
		} `json:"error"`
	}
	r.json(t, &body)
	assert.Equal(t, api.CodeInvalidDAG, body.Error.Code)
	assert.GreaterOrEqual(t, len(body.Error.Details.Problems), 4, "name, unknown dependency, duplicate id, bad duration: %s", r.body)
	for _, want := range []string{"name", "ghost", "forever"} {
		assert.Contains(t, string(r.body), want)
	}

	r = h.do(http.MethodPost, "/api/dags/validate", `{"name": "x", "nodes": [`)
	assert.Equal(t, http.StatusBadRequest, r.code)
	assert.Equal(t, api.CodeMalformedJSON, r.apiError(t).Code)
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.do(http.MethodGet, "/api/templates", nil)
	require.Equal(t, http.StatusOK, r.code)
	var body struct {
		Templates []struct {
			Name   string     `json:"name"`
			Mode   string     `json:"mode"`
			Levels [][]string `json:"levels"`
		} `json:"templates"`
	}
	r.json(t, &body)
	require.Len(t, body.Templates, 2)
	assert.Equal(t, "sdlc-parallel", body.Templates[0].Name)
	assert.Equal(t, []string{"backend", "frontend"}, body.Templates[0].Levels[2])
	assert.Equal(t, "sdlc-linear", body.Templates[1].Name)
}

func TestInfo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, ui, want string
	}{
		{"no UI", "", ""},
		{"a UI", "http://127.0.0.1:8233/", "http://127.0.0.1:8233"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, func(c *api.Config) { c.TemporalUI = tc.ui; c.Token = "s3cret" })
			assert.Equal(t, http.StatusUnauthorized, h.do(http.MethodGet, "/api/info", nil).code, "it needs a token")
			r := h.do(http.MethodGet, "/api/info", nil, "Authorization", "Bearer s3cret")
			require.Equal(t, http.StatusOK, r.code)
			var info api.Info
			r.json(t, &info)
			assert.Equal(t, api.Info{Namespace: server.Namespace(), TemporalUI: tc.want}, info)
		})
	}
}

func TestBearerTokenGuardsEverythingButHealth(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) { c.Token = "s3cret" })
	for _, path := range []string{"/api/templates", "/api/workflows", "/metrics", "/openapi.json"} {
		r := h.do(http.MethodGet, path, nil)
		assert.Equal(t, http.StatusUnauthorized, r.code, path)
		assert.Equal(t, api.CodeUnauthorized, r.apiError(t).Code)
		r = h.do(http.MethodGet, path, nil, "Authorization", "Bearer wrong")
		assert.Equal(t, http.StatusUnauthorized, r.code, path)
		r = h.do(http.MethodGet, path, nil, "Authorization", "Bearer s3cret")
		assert.Equal(t, http.StatusOK, r.code, path)
	}
	// A rejected start starts nothing.
	r := h.do(http.MethodPost, "/api/workflows", map[string]any{"template": "sdlc-parallel", "id": "unauthorised-run"})
	assert.Equal(t, http.StatusUnauthorized, r.code)
	notStarted(t, "unauthorised-run")

	assert.Equal(t, http.StatusOK, h.do(http.MethodGet, "/health", nil).code)
}

func TestRateLimitRefusesWithJSON(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) { c.RateLimit = 0.01; c.RateBurst = 2 })
	codes := []int{}
	for range 3 {
		codes = append(codes, h.do(http.MethodGet, "/api/templates", nil).code)
	}
	assert.Equal(t, []int{200, 200, 429}, codes)
	r := h.do(http.MethodGet, "/api/templates", nil)
	assert.Equal(t, api.CodeRateLimited, r.apiError(t).Code)
	assert.Equal(t, http.StatusOK, h.do(http.MethodGet, "/health", nil).code, "health is not rate limited")
}

func TestErrorsCarryTheRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.do(http.MethodGet, "/api/workflows/nope", nil)
	id := r.header.Get("X-Request-Id")
	require.NotEmpty(t, id)
	assert.Equal(t, id, r.apiError(t).RequestID)
}

func TestMetricsExposeRequestsByRoute(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.do(http.MethodGet, "/api/templates", nil)
	h.do(http.MethodGet, "/api/workflows/some-run", nil)
	h.start(map[string]any{"dag": inlineDAG("m", noopNode("a", ""))})
	for _, method := range []string{"FOO1", "FOO2", strings.Repeat("Z", 8000)} {
		h.do(method, "/", nil)
	}
	m := string(h.do(http.MethodGet, "/metrics", nil).body)
	assert.NotContains(t, m, "FOO1", "any method a client invents is \"other\"")
	assert.NotContains(t, m, "ZZZZ")
	assert.Contains(t, m, `method="other"`)
	assert.Contains(t, m, `maestro_api_requests_total{code="200",method="GET",route="/api/templates"} 1`)
	assert.Contains(t, m, `maestro_api_requests_total{code="404",method="GET",route="/api/workflows/:id"} 1`)
	assert.Contains(t, m, `maestro_api_runs_started_total{template="inline"} 1`)
	assert.Contains(t, m, "maestro_api_request_duration_seconds_bucket")
	assert.Contains(t, m, "go_goroutines")
}
