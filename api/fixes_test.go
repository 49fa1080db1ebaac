package api_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/runs"
)

// listed returns GET path's runs.
func (h *harness) listed(path string) []runs.RunSummary {
	h.t.Helper()
	r := h.do(http.MethodGet, path, nil)
	require.Equal(h.t, http.StatusOK, r.code, "body: %s", r.body)
	var l api.ListResponse
	r.json(h.t, &l)
	return l.Workflows
}

func summaryOf(list []runs.RunSummary, id string) *runs.RunSummary {
	i := slices.IndexFunc(list, func(s runs.RunSummary) bool { return s.WorkflowID == id })
	if i < 0 {
		return nil
	}
	return &list[i]
}

// A paused run is listed as paused: under ?status=paused, under active, in
// the whole list; not under ?status=running.
func TestListShowsPausedRunsAsPaused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.start(map[string]any{"dag": inlineDAG("pause-list", noopNode("first", "300ms"), noopNode("second", "", "first"))})
	t.Cleanup(func() { h.do(http.MethodPost, "/api/workflows/"+id+"/cancel", nil) })
	require.Equal(t, http.StatusAccepted, h.do(http.MethodPost, "/api/workflows/"+id+"/pause", nil).code)
	h.waitFor(id, "paused", func(v *api.RunView) bool { return v.Status == "paused" })

	for _, path := range []string{"/api/workflows?status=paused", "/api/workflows/active", "/api/workflows?page_size=1000", "/api/workflows?status=PAUSED"} {
		t.Run(path, func(t *testing.T) {
			require.Eventually(t, func() bool {
				s := summaryOf(h.listed(path), id)
				return s != nil && s.Status == "paused"
			}, 10*time.Second, 100*time.Millisecond, "%s lists the run as paused", path)
		})
	}
	assert.Nil(t, summaryOf(h.listed("/api/workflows?status=running&page_size=1000"), id), "a paused run is not running")
	for _, s := range h.listed("/api/workflows?status=paused&page_size=1000") {
		assert.Equal(t, "paused", string(s.Status))
	}
	assert.Contains(t, runs.ListStatuses(), "paused")
	for _, st := range runs.ListStatuses() {
		// Every filter word makes a query the visibility store accepts.
		r := h.do(http.MethodGet, "/api/workflows?status="+st, nil)
		assert.Equal(t, http.StatusOK, r.code, "status=%s: %s", st, r.body)
	}

	require.Equal(t, http.StatusAccepted, h.do(http.MethodPost, "/api/workflows/"+id+"/resume", nil).code)
	h.waitFor(id, "completion", closed)
	require.Eventually(t, func() bool {
		s := summaryOf(h.listed("/api/workflows?status=completed&page_size=1000"), id)
		return s != nil && s.Status == "completed" && summaryOf(h.listed("/api/workflows?status=paused&page_size=1000"), id) == nil
	}, 10*time.Second, 100*time.Millisecond)
}

// The list is newest started first, even when runs close in the opposite
// order of their starts.
func TestListIsNewestStartedFirst(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	older := h.start(map[string]any{"dag": inlineDAG("order-older", noopNode("slow", "1500ms"))})
	time.Sleep(50 * time.Millisecond)
	newer := h.start(map[string]any{"dag": inlineDAG("order-newer", noopNode("quick", ""))})
	h.waitFor(newer, "newer closed", closed)
	h.waitFor(older, "older closed", closed)
	require.Eventually(t, func() bool {
		list := h.listed("/api/workflows?status=completed&page_size=1000")
		o := slices.IndexFunc(list, func(s runs.RunSummary) bool { return s.WorkflowID == older })
		n := slices.IndexFunc(list, func(s runs.RunSummary) bool { return s.WorkflowID == newer })
		if o < 0 || n < 0 {
			return false
		}
		assert.Less(t, n, o, "the run started later is listed first")
		for i := 1; i < len(list); i++ {
			assert.False(t, list[i].StartedAt.After(list[i-1].StartedAt), "sorted by start, newest first: %v", list)
		}
		return true
	}, 10*time.Second, 100*time.Millisecond)
}

// Run IDs with characters a URL or an artifact key cannot carry are refused,
// in a start request and in a URL, with 400 naming the field; nothing starts.
func TestInvalidRunIDsAre400(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, id := range []string{"a/b", "..", "x/../y", "a..b", ".hidden", "ключ", "tab\there", "nul\x00", "sp ace", strings.Repeat("k", 256)} {
		t.Run(fmt.Sprintf("start %q", id), func(t *testing.T) {
			r := h.do(http.MethodPost, "/api/workflows", map[string]any{"dag": inlineDAG("bad-id", noopNode("a", "")), "id": id})
			require.Equal(t, http.StatusBadRequest, r.code, "body: %s", r.body)
			e := r.apiError(t)
			assert.Equal(t, api.CodeInvalidRequest, e.Code)
			assert.Equal(t, map[string]any{"field": "id"}, e.Details)
			if !strings.ContainsFunc(id, func(r rune) bool { return r < ' ' || r > '~' }) {
				// (Temporal cannot even look up the others.)
				notStarted(t, id)
			}
		})
	}
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/api/workflows/a%2Fb"},
		{http.MethodPost, "/api/workflows/a%2Fb/cancel"},
		{http.MethodGet, "/api/workflows/%E2%9C%93"},
		{http.MethodGet, "/api/workflows/%2E%2E/events"},
		{http.MethodPost, "/api/workflows/tab%09x/pause"},
		{http.MethodPost, "/api/workflows/tab%09x/resume"},
		{http.MethodPost, "/api/workflows/%C3%A9/approve/n"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			var body any
			if strings.Contains(tc.path, "approve") {
				body = map[string]any{"approved": true}
			}
			r := h.do(tc.method, tc.path, body)
			require.Equal(t, http.StatusBadRequest, r.code, "body: %s", r.body)
			e := r.apiError(t)
			assert.Equal(t, api.CodeInvalidRequest, e.Code)
			assert.Equal(t, map[string]any{"field": "id"}, e.Details)
		})
	}
	// Lookups accept any printable ID Temporal can hold, so that runs
	// started before these rules (or by the temporal CLI) stay reachable:
	// an unknown one is 404, not 400.
	for _, path := range []string{"/api/workflows/a..b", "/api/workflows/.hidden/cancel"} {
		method := http.MethodGet
		if strings.HasSuffix(path, "/cancel") {
			method = http.MethodPost
		}
		r := h.do(method, path, nil)
		assert.Equal(t, http.StatusNotFound, r.code, "%s: %s", path, r.body)
	}
	// A plain ID with all the allowed punctuation works.
	id := fmt.Sprintf("ok_id-%d.v1:a@b+c=d~e", time.Now().UnixNano())
	h.start(map[string]any{"dag": inlineDAG("good-id", noopNode("a", "")), "id": id})
	h.waitFor(id, "completion", closed)
}

// A request over Temporal's payload limit (but under the body limit) is 413
// payload_too_large, and starts nothing.
func TestPayloadOverTemporalsLimitIs413(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	key := fmt.Sprintf("big-%d", time.Now().UnixNano())
	big := inlineDAG("big", noopNode("a", ""))
	noise := make([]byte, (runs.MaxInputBytes-1000)*3/4)
	_, _ = rand.Read(noise) // incompressible: a big start input is sent compressed
	big["description"] = base64.StdEncoding.EncodeToString(noise)
	r := h.do(http.MethodPost, "/api/workflows", map[string]any{"dag": big}, "Idempotency-Key", key)
	require.Equal(t, http.StatusRequestEntityTooLarge, r.code, "body: %.500s", r.body)
	e := r.apiError(t)
	assert.Equal(t, api.CodePayloadTooLarge, e.Code)
	assert.Contains(t, e.Message, "limit")
	id, err := runs.IdempotentID(key)
	require.NoError(t, err)
	notStarted(t, id)
}

// Malformed YAML is malformed_yaml; malformed JSON stays malformed_json.
func TestMalformedYAMLAndJSONCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tc := range []struct{ name, body, code string }{
		{"yaml", "name: x\nnodes: [\n", api.CodeMalformedYAML},
		{"yaml tabs", "name: x\n\tnodes: 1\n", api.CodeMalformedYAML},
		{"yaml unknown field", "name: x\nnodez: []\n", api.CodeMalformedYAML},
		{"json", `{"name": "x", "nodes": [`, api.CodeMalformedJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/api/dags/validate", tc.body)
			require.Equal(t, http.StatusBadRequest, r.code, "body: %s", r.body)
			assert.Equal(t, tc.code, r.apiError(t).Code)
		})
	}
}

// A plain GET on the event stream of a run (no WebSocket upgrade) is a JSON
// error, like every other refusal.
func TestEventStreamWithoutUpgradeIsJSONError(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.start(map[string]any{"dag": inlineDAG("plain-get", noopNode("a", ""))})
	r := h.do(http.MethodGet, "/api/workflows/"+id+"/events", nil)
	require.Equal(t, http.StatusUpgradeRequired, r.code, "body: %s", r.body)
	assert.Contains(t, r.header.Get("Content-Type"), "application/json")
	assert.Equal(t, "websocket", r.header.Get("Upgrade"))
	assert.Equal(t, api.CodeWebSocketRequired, r.apiError(t).Code)
}

// The original system's clients: the start response carries execution_id,
// which every endpoint taking a run's id accepts.
func TestExecutionIDIsAcceptedEverywhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	slow := noopNode("slow", "1m")
	slow["heartbeat_timeout"] = "1s" // a cancelled node stops within it
	r := h.do(http.MethodPost, "/api/workflows", map[string]any{"dag": inlineDAG("compat", slow)})
	require.Equal(t, http.StatusCreated, r.code, "body: %s", r.body)
	var doc map[string]any
	r.json(t, &doc)
	assert.Equal(t, "running", doc["status"])
	exec, _ := doc["execution_id"].(string)
	require.NotEmpty(t, exec)
	assert.Equal(t, doc["workflow_id"], exec)

	assert.Equal(t, http.StatusOK, h.do(http.MethodGet, "/api/workflows/"+exec, nil).code)
	assert.Equal(t, http.StatusAccepted, h.do(http.MethodPost, "/api/workflows/"+exec+"/pause", nil).code)
	assert.Equal(t, http.StatusAccepted, h.do(http.MethodPost, "/api/workflows/"+exec+"/resume", nil).code)
	assert.Equal(t, http.StatusUpgradeRequired, h.do(http.MethodGet, "/api/workflows/"+exec+"/events", nil).code)
	assert.Equal(t, http.StatusAccepted, h.do(http.MethodPost, "/api/workflows/"+exec+"/cancel", nil).code)
	h.waitFor(exec, "cancelled", closed)

	rr := h.do(http.MethodPost, "/api/workflows/"+exec+"/retry", nil)
	require.Equal(t, http.StatusCreated, rr.code, "body: %s", rr.body)
	var retry api.StartResponse
	rr.json(t, &retry)
	assert.Equal(t, retry.WorkflowID, retry.ExecutionID)
	assert.Equal(t, http.StatusOK, h.do(http.MethodGet, "/api/workflows/"+retry.ExecutionID, nil).code)
	assert.Equal(t, http.StatusAccepted, h.do(http.MethodPost, "/api/workflows/"+retry.ExecutionID+"/cancel", nil).code)
	h.waitFor(retry.ExecutionID, "retry cancelled", closed)
}

// workflow_type is checked in one place: start and validate answer the same.
func TestWorkflowTypeErrorsAreTheSameOnStartAndValidate(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tc := range []struct {
		name    string
		body    map[string]any
		status  int
		code    string
		allowed []any
	}{
		{"unknown", map[string]any{"workflow_type": "diagonal", "requirement": "x"}, 422, api.CodeUnknownTemplate, []any{"linear", "parallel"}},
		{"with template", map[string]any{"workflow_type": "linear", "template": "sdlc-parallel"}, 400, api.CodeInvalidRequest, nil},
		{"with dag", map[string]any{"workflow_type": "linear", "dag": inlineDAG("x", noopNode("a", ""))}, 400, api.CodeInvalidRequest, nil},
	} {
		for _, path := range []string{"/api/workflows", "/api/dags/validate"} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				r := h.do(http.MethodPost, path, tc.body)
				require.Equal(t, tc.status, r.code, "body: %s", r.body)
				e := r.apiError(t)
				assert.Equal(t, tc.code, e.Code)
				want := map[string]any{"field": "workflow_type"}
				if tc.allowed != nil {
					want["allowed"] = tc.allowed
				}
				assert.Equal(t, want, e.Details)
			})
		}
	}
	r := h.do(http.MethodPost, "/api/dags/validate", map[string]any{"workflow_type": "Parallel", "requirement": "x"})
	require.Equal(t, http.StatusOK, r.code, "body: %s", r.body)
}

// Reusing an Idempotency-Key (or id) with another request is a conflict, not
// the first run.
func TestIdempotencyKeyWithADifferentRequestIsAConflict(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := map[string]any{"dag": inlineDAG("idem", noopNode("a", ""))}
	other := map[string]any{"dag": inlineDAG("idem", noopNode("a", ""), noopNode("b", "", "a"))}
	key := fmt.Sprintf("idem-%d", time.Now().UnixNano())
	id := fmt.Sprintf("idem-id-%d", time.Now().UnixNano())
	withID := func(body map[string]any) map[string]any {
		out := map[string]any{"id": id}
		for k, v := range body {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		first, second map[string]any
		headers       []string
		field         string
	}{
		{"Idempotency-Key", first, other, []string{"Idempotency-Key", key}, "Idempotency-Key"},
		{"id", withID(first), withID(other), nil, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/api/workflows", tc.first, tc.headers...)
			require.Equal(t, http.StatusCreated, r.code, "body: %s", r.body)
			var s api.StartResponse
			r.json(t, &s)

			same := h.do(http.MethodPost, "/api/workflows", tc.first, tc.headers...)
			require.Equal(t, http.StatusOK, same.code, "the same request again: %s", same.body)
			var s2 api.StartResponse
			same.json(t, &s2)
			assert.Equal(t, s.RunID, s2.RunID)
			assert.True(t, s2.Existing)

			diff := h.do(http.MethodPost, "/api/workflows", tc.second, tc.headers...)
			require.Equal(t, http.StatusConflict, diff.code, "a different request: %s", diff.body)
			e := diff.apiError(t)
			assert.Equal(t, api.CodeIdempotency, e.Code)
			assert.Equal(t, map[string]any{"field": tc.field}, e.Details)
			assert.Contains(t, e.Message, tc.field)
			h.waitFor(s.WorkflowID, "completion", closed)
			assert.Equal(t, 1, h.status(s.WorkflowID).TotalNodes, "the first run is untouched")
		})
	}
}

// /health carries the same checks as `maestro doctor`: all ok with a
// namespace that has Maestro's search attributes and a polling worker; an
// unknown namespace is unhealthy.
func TestHealthChecksLikeDoctor(t *testing.T) {
	t.Parallel()
	env := server.New(t)
	get := func(svc *runs.Service) (int, api.Health) {
		h := newHarnessOn(t, env, func(c *api.Config) { c.Runs = svc })
		r := h.do(http.MethodGet, "/health", nil)
		var hl api.Health
		r.json(t, &hl)
		return r.code, hl
	}
	svc := runs.New(server.Client, runs.Config{Namespace: server.Namespace(), TaskQueue: env.TaskQueue})
	var hl api.Health
	require.Eventually(t, func() bool {
		var code int
		code, hl = get(svc)
		return code == http.StatusOK && hl.Status == api.HealthHealthy
	}, 5*time.Second, 50*time.Millisecond)
	var names []string
	for _, c := range hl.Checks {
		names = append(names, c.Name)
		assert.Equal(t, runs.CheckOK, c.Status, "%+v", c)
		assert.NotEmpty(t, c.Detail)
	}
	assert.Equal(t, []string{"temporal", "namespace", "worker", "search_attributes"}, names)
	assert.NotEmpty(t, hl.Temporal.ServerVersion)

	code, bad := get(runs.New(server.Client, runs.Config{Namespace: "no-such-namespace", TaskQueue: env.TaskQueue}))
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, api.HealthUnhealthy, bad.Status)
	require.Len(t, bad.Checks, 4)
	assert.Equal(t, runs.CheckFail, bad.Checks[1].Status)
	assert.NotEmpty(t, bad.Checks[1].Fix)
	assert.Equal(t, runs.CheckSkip, bad.Checks[2].Status)
	assert.Contains(t, bad.Temporal.Error, "no-such-namespace")
}
