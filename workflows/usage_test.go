package workflows

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/templates"
)

func TestTotalUsage(t *testing.T) {
	assert.Nil(t, totalUsage(nil))
	assert.Nil(t, totalUsage([]run.NodeStatus{{ID: "a"}}))
	same := []run.NodeStatus{
		{ID: "a", Usage: &run.Usage{Model: "m", InputTokens: 10, OutputTokens: 1}},
		{ID: "b"},
		{ID: "c", Usage: &run.Usage{Model: "m", InputTokens: 5, OutputTokens: 2}},
	}
	assert.Equal(t, &run.Usage{Model: "m", InputTokens: 15, OutputTokens: 3}, totalUsage(same))
	mixed := append(same, run.NodeStatus{ID: "d", Usage: &run.Usage{Model: "other", InputTokens: 1, OutputTokens: 1}})
	assert.Equal(t, &run.Usage{InputTokens: 16, OutputTokens: 4}, totalUsage(mixed))
	assert.Equal(t, "m", same[0].Usage.Model, "the nodes' usage is not changed")
}

func TestSimulated(t *testing.T) {
	p, err := templates.Build(templates.SDLCParallel, "r")
	require.NoError(t, err)
	in := run.Input{Pipeline: *p, Template: templates.SDLCParallel}
	nodes := func(results ...run.NodeResult) []*run.NodeResult {
		var out []*run.NodeResult
		for _, res := range results {
			out = append(out, &res)
		}
		return append(out, nil) // one that has not run
	}
	// The worker decides: its results say whether phases were simulated.
	assert.False(t, simulated(in, nodes()))
	assert.False(t, simulated(in, nodes(run.NodeResult{Output: "# Requirements"})))
	assert.True(t, simulated(in, nodes(run.NodeResult{Output: "# Requirements"}, run.NodeResult{Output: "x", Simulated: true})))

	// A template built by an earlier version without an agent provider had
	// noop phases.
	legacy := in
	legacy.Pipeline.Nodes = slices.Clone(p.Nodes)
	for i := range legacy.Pipeline.Nodes {
		legacy.Pipeline.Nodes[i].Executor = dag.NewExecutor(&dag.NoopSpec{Output: "done (simulated)"})
	}
	assert.True(t, simulated(legacy, nodes(run.NodeResult{Output: "done (simulated)"})))
	// An inline DAG of noop nodes is what its author asked for.
	assert.False(t, simulated(run.Input{Pipeline: dag.Pipeline{Nodes: []dag.Node{{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})}}}}, nodes()))
}
