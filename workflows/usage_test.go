package workflows

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/templates"
)

func TestTotalUsage(t *testing.T) {
	assert.Nil(t, totalUsage(nil))
	assert.Nil(t, totalUsage([]NodeStatus{{ID: "a"}}))
	same := []NodeStatus{
		{ID: "a", Usage: &activities.Usage{Model: "m", InputTokens: 10, OutputTokens: 1}},
		{ID: "b"},
		{ID: "c", Usage: &activities.Usage{Model: "m", InputTokens: 5, OutputTokens: 2}},
	}
	assert.Equal(t, &activities.Usage{Model: "m", InputTokens: 15, OutputTokens: 3}, totalUsage(same))
	mixed := append(same, NodeStatus{ID: "d", Usage: &activities.Usage{Model: "other", InputTokens: 1, OutputTokens: 1}})
	assert.Equal(t, &activities.Usage{InputTokens: 16, OutputTokens: 4}, totalUsage(mixed))
	assert.Equal(t, "m", same[0].Usage.Model, "the nodes' usage is not changed")
}

func TestSimulated(t *testing.T) {
	sim, err := templates.Build(templates.SDLCParallel, "r")
	assert.NoError(t, err)
	assert.True(t, simulated(Input{Pipeline: *sim, Template: templates.SDLCParallel}))
	agent, err := templates.BuildWith(templates.SDLCParallel, "r", templates.Options{Agent: true})
	assert.NoError(t, err)
	assert.False(t, simulated(Input{Pipeline: *agent, Template: templates.SDLCParallel}))
	// An inline DAG of noop nodes is what its author asked for.
	assert.False(t, simulated(Input{Pipeline: dag.Pipeline{Nodes: []dag.Node{{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})}}}}))
}
