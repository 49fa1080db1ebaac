package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
	"github.com/maestrohq/maestro/workflows"
)

// scheduledAfter counts, per node, the activities scheduled in a run's
// history after event after: the nodes' executions in that part of it.
func scheduledAfter(t *testing.T, workflowID, runID string, after int64) map[string]int {
	t.Helper()
	it := server.Client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	out := map[string]int{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && ev.GetEventId() > after {
			node, _ := workflows.NodeOfActivity(a.GetActivityId())
			out[node]++
		}
	}
	return out
}

// rewind posts a rewind and decodes the answer.
func (h *harness) rewind(id string, body any) *api.RewindResponse {
	h.t.Helper()
	r := h.do(http.MethodPost, "/api/workflows/"+id+"/rewind", body)
	require.Equal(h.t, http.StatusOK, r.code, "body: %s", r.body)
	var rw api.RewindResponse
	r.json(h.t, &rw)
	return &rw
}

// A completed 7-node sdlc-parallel run rewound to testing: testing, review
// and deployment run again, the four earlier nodes do not, and the run
// (the same workflow ID, a new run ID) completes again.
func TestRewindCompletedRunToTesting(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := templates.Build(templates.SDLCParallel, "Build a todo app")
	require.NoError(t, err)
	for i := range p.Nodes {
		p.Nodes[i].Executor = dag.NewExecutor(&dag.NoopSpec{})
	}
	started, err := h.env.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	id := started.WorkflowID
	first, err := h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Completed, first.Status, first.Error)
	before := scheduledAfter(t, id, started.RunID, 0)
	for _, n := range p.Nodes {
		assert.Equal(t, 1, before[n.ID], "executions of %s in the first run", n.ID)
	}

	rw := h.rewind(id, map[string]any{"to": "testing", "reason": "the tests were wrong"})
	assert.Equal(t, id, rw.WorkflowID)
	assert.Equal(t, started.RunID, rw.PreviousRunID)
	assert.NotEqual(t, started.RunID, rw.RunID)
	assert.Equal(t, "testing", rw.To)
	assert.Equal(t, []string{"review", "deployment"}, rw.Rerun)
	assert.Equal(t, []string{"requirements", "design", "backend", "frontend"}, rw.Kept)
	assert.Empty(t, rw.SignalsAfter)

	st, err := h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, rw.RunID, st.RunID, "the status is the new run's")
	assert.Equal(t, 7, st.CompletedNodes)
	after := scheduledAfter(t, id, rw.RunID, rw.ResetEventID)
	t.Logf("executions after the rewind: %v", after)
	assert.Equal(t, map[string]int{"testing": 1, "review": 1, "deployment": 1}, after)
	assert.True(t, st.Node("testing").StartedAt.After(*first.Node("deployment").EndedAt), "testing ran again")
	for _, n := range []string{"requirements", "design", "backend", "frontend"} {
		// (The end time of the node whose completion started testing is
		// the time that workflow task ran again.)
		assert.Equal(t, first.Node(n).Output, st.Node(n).Output, "%s keeps its result", n)
		assert.Equal(t, first.Node(n).StartedAt, st.Node(n).StartedAt, "%s keeps its start", n)
		assert.Equal(t, 1, scheduledAfter(t, id, rw.RunID, 0)[n], "%s keeps its one execution", n)
	}
	// The run lists once under its ID, as its new execution.
	assert.Equal(t, "completed", string(h.status(id).Status))
	require.Eventually(t, func() bool {
		var list api.ListResponse
		r := h.do(http.MethodGet, "/api/workflows", nil)
		if r.code != http.StatusOK {
			return false
		}
		r.json(t, &list)
		n, last := 0, ""
		for _, s := range list.Workflows {
			if s.WorkflowID == id {
				n++
				last = s.RunID + " " + string(s.Status)
			}
		}
		return n == 1 && last == rw.RunID+" completed"
	}, 10*time.Second, 100*time.Millisecond)
}

// Refusals: an unknown run is 404, an unknown or missing node 400 naming
// "to", a node that never started 409 naming "to".
func TestRewindRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bad := dag.Node{ID: "bad", Retry: &dag.Retry{MaxAttempts: 1}, Executor: dag.NewExecutor(&dag.NoopSpec{FailAttempts: 99})}
	p := &dag.Pipeline{Name: "fails", Mode: dag.ModeDAGParallel, FailurePolicy: dag.FailFast, Nodes: []dag.Node{
		{ID: "first", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		withDeps(bad, "first"),
		{ID: "after", DependsOn: []string{"bad"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	started, err := h.env.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	id := started.WorkflowID
	st, err := h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Failed, st.Status)

	for _, tc := range []struct {
		name, id string
		body     any
		status   int
		code     string
		field    string
	}{
		{"unknown run", "no-such-run", map[string]any{"to": "first"}, http.StatusNotFound, api.CodeRunNotFound, ""},
		{"unknown node", id, map[string]any{"to": "nope"}, http.StatusBadRequest, api.CodeInvalidRequest, "to"},
		{"missing node", id, map[string]any{}, http.StatusBadRequest, api.CodeInvalidRequest, "to"},
		{"unknown field", id, map[string]any{"to": "first", "keep": true}, http.StatusBadRequest, "", ""},
		{"never started", id, map[string]any{"to": "after"}, http.StatusConflict, api.CodeRunNotRewindable, "to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/api/workflows/"+tc.id+"/rewind", tc.body)
			require.Equal(t, tc.status, r.code, "body: %s", r.body)
			e := r.apiError(t)
			if tc.code != "" {
				assert.Equal(t, tc.code, e.Code)
			}
			if tc.field != "" {
				assert.Equal(t, tc.field, e.Details.(map[string]any)["field"], "body: %s", r.body)
			}
		})
	}

	// A failed run rewound to its failing node runs it (and fails) again;
	// the node before it keeps its result.
	rw := h.rewind(id, map[string]any{"to": "bad"})
	assert.Equal(t, []string{"after"}, rw.Rerun)
	assert.Equal(t, []string{"first"}, rw.Kept)
	st, err = h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, run.Failed, st.Status)
	assert.Equal(t, map[string]int{"bad": 1}, scheduledAfter(t, id, rw.RunID, rw.ResetEventID))

	// A retry reuses first without running it: nothing to rewind to there.
	retried, err := h.env.Runs.Retry(ctx, id)
	require.NoError(t, err)
	_, err = h.env.Runs.Wait(ctx, retried.WorkflowID)
	require.NoError(t, err)
	r := h.do(http.MethodPost, "/api/workflows/"+retried.WorkflowID+"/rewind", map[string]any{"to": "first"})
	require.Equal(t, http.StatusConflict, r.code, "body: %s", r.body)
	assert.Contains(t, r.apiError(t).Message, "reused from "+id)
}

func withDeps(n dag.Node, deps ...string) dag.Node {
	n.DependsOn = deps
	return n
}

// Approvals sent after the rewind point are dropped by default (the gate
// waits again) and re-applied with keep_signals; an approval node itself
// can be rewound to.
func TestRewindApprovals(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := &dag.Pipeline{Name: "gated", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{
		{ID: "build", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "gate", DependsOn: []string{"build"}, Executor: dag.NewExecutor(&dag.ApprovalSpec{})},
		{ID: "deploy", DependsOn: []string{"gate"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "notify", DependsOn: []string{"deploy"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	started, err := h.env.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	id := started.WorkflowID
	approve := func() {
		t.Helper()
		h.waitFor(id, "gate waiting", nodeIs("gate", run.NodeWaitingApproval))
		_, err := h.env.Runs.Approve(ctx, id, run.Approval{Node: "gate", Approved: true, By: "ana"})
		require.NoError(t, err)
	}
	approve()
	st, err := h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)

	// A point after the decision keeps it: rewound to notify, the run
	// completes with no new decision.
	rw := h.rewind(id, map[string]any{"to": "notify"})
	assert.Empty(t, rw.Rerun)
	assert.Equal(t, []string{"build", "gate", "deploy"}, rw.Kept)
	assert.Empty(t, rw.SignalsAfter)
	st, err = h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, "ana", st.Node("gate").Approval.By)
	assert.Equal(t, map[string]int{"notify": 1}, scheduledAfter(t, id, rw.RunID, rw.ResetEventID))

	// The decision that let deploy start came in the workflow task that
	// started it: rewound to deploy, it is after the point, and the gate
	// waits again.
	rw = h.rewind(id, map[string]any{"to": "deploy"})
	assert.Equal(t, []string{"gate", "notify"}, rw.Rerun)
	assert.Equal(t, []string{"approve"}, rw.SignalsAfter)
	approve()
	st, err = h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)

	// The approval node itself: build keeps its result, the gate waits
	// for a new decision (the one sent after it started is dropped).
	rw = h.rewind(id, map[string]any{"to": "gate"})
	assert.Equal(t, []string{"deploy", "notify"}, rw.Rerun)
	assert.Equal(t, []string{"build"}, rw.Kept)
	assert.Equal(t, []string{"approve"}, rw.SignalsAfter)
	approve()
	st, err = h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, map[string]int{"deploy": 1, "notify": 1}, scheduledAfter(t, id, rw.RunID, rw.ResetEventID))

	// Without keep_signals, the approval (sent after build started) is
	// dropped: the gate waits for a new decision.
	rw = h.rewind(id, map[string]any{"to": "build"})
	assert.Equal(t, []string{"gate", "deploy", "notify"}, rw.Rerun)
	assert.Empty(t, rw.Kept)
	assert.Equal(t, []string{"approve"}, rw.SignalsAfter)
	assert.False(t, rw.KeepSignals)
	approve()
	st, err = h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)

	// With keep_signals, it is re-applied: the run completes by itself.
	rw = h.rewind(id, map[string]any{"to": "build", "keep_signals": true})
	assert.Equal(t, []string{"approve"}, rw.SignalsAfter)
	assert.True(t, rw.KeepSignals)
	st, err = h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, "ana", st.Node("gate").Approval.By)
	assert.Equal(t, map[string]int{"build": 1, "deploy": 1, "notify": 1}, scheduledAfter(t, id, rw.RunID, rw.ResetEventID))
}

// A run that continued as new: a node of an earlier part cannot be rewound
// to (409 naming to); a node of the current part can. The second part is
// started directly with the state the first would carry.
func TestRewindWithinTheCurrentPartOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := dag.Pipeline{Name: "long", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{
		{ID: "early", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "late", DependsOn: []string{"early"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	now := time.Now()
	c := run.Carried{Input: run.Input{Pipeline: p}, Part: 1, StartedAt: now, Nodes: []run.CarriedNode{
		{Index: 0, State: run.NodeCompleted, Attempts: 1, StartedAt: run.Millis(&now), EndedAt: run.Millis(&now), Output: "early done"},
	}}
	data, err := c.Encode()
	require.NoError(t, err)
	we, err := server.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "continued-run", TaskQueue: h.env.TaskQueue},
		workflows.WorkflowName, run.Input{Continued: data})
	require.NoError(t, err)
	st, err := h.env.Runs.Wait(ctx, we.GetID())
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)

	r := h.do(http.MethodPost, "/api/workflows/continued-run/rewind", map[string]any{"to": "early"})
	require.Equal(t, http.StatusConflict, r.code, "body: %s", r.body)
	e := r.apiError(t)
	assert.Equal(t, api.CodeRunNotRewindable, e.Code)
	assert.Equal(t, "to", e.Details.(map[string]any)["field"])
	assert.Contains(t, e.Message, "earlier part")

	rw := h.rewind("continued-run", map[string]any{"to": "late"})
	assert.Empty(t, rw.Rerun)
	assert.Equal(t, []string{"early"}, rw.Kept)
	st, err = h.env.Runs.Wait(ctx, "continued-run")
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, map[string]int{"late": 1}, scheduledAfter(t, "continued-run", rw.RunID, rw.ResetEventID))
}

// A running run (waiting at an approval gate) can be rewound: the current
// execution ends (terminated by the reset) and the new one goes on.
func TestRewindRunningRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := &dag.Pipeline{Name: "gated", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{
		{ID: "build", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "gate", DependsOn: []string{"build"}, Executor: dag.NewExecutor(&dag.ApprovalSpec{})},
		{ID: "deploy", DependsOn: []string{"gate"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	started, err := h.env.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	id := started.WorkflowID
	h.waitFor(id, "gate waiting", nodeIs("gate", run.NodeWaitingApproval))

	rw := h.rewind(id, map[string]any{"to": "build"})
	assert.Equal(t, []string{"gate", "deploy"}, rw.Rerun)
	desc, err := server.Client.DescribeWorkflowExecution(ctx, id, started.RunID)
	require.NoError(t, err)
	assert.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED, desc.GetWorkflowExecutionInfo().GetStatus())

	v := h.waitFor(id, "gate waiting again", nodeIs("gate", run.NodeWaitingApproval))
	assert.Equal(t, rw.RunID, v.RunID)
	_, err = h.env.Runs.Approve(ctx, id, run.Approval{Node: "gate", Approved: true})
	require.NoError(t, err)
	st, err := h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, map[string]int{"build": 1, "deploy": 1}, scheduledAfter(t, id, rw.RunID, rw.ResetEventID))
}

// A run whose own timeout has passed: a rewind past its first step would
// time out at once and is refused (409 naming to); a rewind to its first
// node starts its clock again and completes.
func TestRewindAfterTheRunsTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := &dag.Pipeline{Name: "short", Mode: dag.ModeDAGParallel, Timeout: "1s", Nodes: []dag.Node{
		{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})},
		{ID: "b", DependsOn: []string{"a"}, Executor: dag.NewExecutor(&dag.NoopSpec{})},
	}}
	started, err := h.env.Runs.Start(ctx, runs.StartRequest{DAG: p})
	require.NoError(t, err)
	id := started.WorkflowID
	st, err := h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	require.Equal(t, run.Completed, st.Status, st.Error)
	time.Sleep(time.Until(st.StartedAt.Add(1100 * time.Millisecond)))

	r := h.do(http.MethodPost, "/api/workflows/"+id+"/rewind", map[string]any{"to": "b"})
	require.Equal(t, http.StatusConflict, r.code, "body: %s", r.body)
	e := r.apiError(t)
	assert.Equal(t, api.CodeRunNotRewindable, e.Code)
	assert.Contains(t, e.Message, "timeout")

	h.rewind(id, map[string]any{"to": "a"})
	st, err = h.env.Runs.Wait(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, run.Completed, st.Status, st.Error)
}
