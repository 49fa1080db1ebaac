package runs_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// A running node whose reported progress changed gives a node_progress
// event; the same progress again gives none.
func TestDiffReportsProgress(t *testing.T) {
	now := time.Now()
	node := func(p *run.Progress) *run.Status {
		return &run.Status{Status: run.Running, Nodes: []run.NodeStatus{{ID: "impl", Status: run.NodeRunning, Attempts: 1, StartedAt: &now, Progress: p}}}
	}
	p1 := &run.Progress{Turn: 1, Step: "waiting for the model"}
	p2 := &run.Progress{Turn: 2, Step: "run go test ./...", Files: 2}
	evs := runs.Diff(node(p1), node(p2), now)
	require.Len(t, evs, 1)
	assert.Equal(t, runs.EventNodeProgress, evs[0].Type)
	assert.Equal(t, "impl", evs[0].Node)
	assert.Equal(t, p2, evs[0].Progress)
	assert.Empty(t, runs.Diff(node(p2), node(&run.Progress{Turn: 2, Step: "run go test ./...", Files: 2}), now))
	assert.Empty(t, runs.Diff(node(p2), node(nil), now), "no progress reported: nothing to say")
}

// A node that waits for the budget says so, and starts again when it
// resumes.
func TestDiffReportsWaitingForTheBudget(t *testing.T) {
	now := time.Now()
	node := func(state run.NodeState) *run.Status {
		return &run.Status{Status: run.Running, Nodes: []run.NodeStatus{{ID: "impl", Status: state, Attempts: 1, StartedAt: &now, LastError: "over budget"}}}
	}
	evs := runs.Diff(node(run.NodeRunning), node(run.NodeWaitingBudget), now)
	require.Len(t, evs, 1)
	assert.Equal(t, runs.EventNodeWaitingBudget, evs[0].Type)
	assert.Equal(t, "over budget", evs[0].Error)
	evs = runs.Diff(node(run.NodePending), node(run.NodeWaitingBudget), now)
	require.Len(t, evs, 2)
	assert.Equal(t, []string{runs.EventNodeStarted, runs.EventNodeWaitingBudget}, []string{evs[0].Type, evs[1].Type})
	evs = runs.Diff(node(run.NodeWaitingBudget), node(run.NodeRunning), now)
	require.Len(t, evs, 1)
	assert.Equal(t, runs.EventNodeStarted, evs[0].Type)
}
