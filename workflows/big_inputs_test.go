package workflows_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// Nodes whose inputs together pass what Temporal takes in one message
// (80 ready nodes each carrying 60 KB of params, ~4.8 MB, over the
// frontend's 4 MiB) start over several workflow tasks, and the run
// completes; one that fits starts in one.
func TestBigInputsStartOverSeveralTasks(t *testing.T) {
	t.Parallel()
	e := server.New(t)
	p := bigInputs(80)
	st := runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Completed, st.Status, st.Error)
	assert.Equal(t, 80, st.CompletedNodes)
	timers, batched := batchCounts(t, st.WorkflowID)
	assert.True(t, batched, "the batch-big-starts version marker")
	assert.Positive(t, timers, "a task that stopped starting nodes made sure a next one comes")

	p.Params = map[string]any{"blob": "small"}
	st = runToEnd(t, e, runs.StartRequest{DAG: p})
	require.Equal(t, run.Completed, st.Status, st.Error)
	_, batched = batchCounts(t, st.WorkflowID)
	assert.False(t, batched, "small inputs start at once, with nothing recorded for it")
}

// bigInputs is a pipeline of n parallel command nodes whose inputs carry
// 60 KB of params each.
func bigInputs(n int) *dag.Pipeline {
	nodes := make([]dag.Node, n)
	for i := range nodes {
		nodes[i] = command(fmt.Sprintf("n%02d", i), []string{"true"})
	}
	p := pipeline("big-inputs", dag.ModeDAGParallel, nodes...)
	p.MaxParallel = 100
	p.Params = map[string]any{"blob": strings.Repeat("p", 60<<10)}
	return p
}

// batchCounts counts the timers started in a run's history, and reports
// whether it recorded the batch-big-starts marker.
func batchCounts(t *testing.T, workflowID string) (timers int, batched bool) {
	t.Helper()
	it := server.Client.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			timers++
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			for _, p := range ev.GetMarkerRecordedEventAttributes().GetDetails() {
				for _, d := range p.GetPayloads() {
					batched = batched || strings.Contains(string(d.GetData()), "batch-big-starts")
				}
			}
		}
	}
	return timers, batched
}
