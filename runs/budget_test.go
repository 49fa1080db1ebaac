package runs

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
)

func TestBuildBudget(t *testing.T) {
	p := &dag.Pipeline{Name: "b", Nodes: []dag.Node{{ID: "a", Executor: dag.NewExecutor(&dag.NoopSpec{})}},
		Budget: &dag.Budget{Tokens: 1000, USD: 1}}
	in, err := Build(StartRequest{DAG: p}, "")
	require.NoError(t, err)
	assert.Equal(t, &dag.Budget{Tokens: 1000, USD: 1}, in.Pipeline.Budget)

	in, err = Build(StartRequest{DAG: p, Budget: &dag.Budget{USD: 2.5}}, "")
	require.NoError(t, err)
	assert.Equal(t, &dag.Budget{Tokens: 1000, USD: 2.5}, in.Pipeline.Budget, "the request overrides the limits it gives")
	assert.Equal(t, 1.0, p.Budget.USD, "the request's pipeline is not changed")

	in, err = Build(StartRequest{Template: "sdlc-linear", Requirement: "r", Budget: &dag.Budget{Tokens: 5}}, "")
	require.NoError(t, err)
	assert.Equal(t, &dag.Budget{Tokens: 5}, in.Pipeline.Budget)

	for _, b := range []dag.Budget{{Tokens: -1}, {USD: -0.5}, {USD: math.Inf(1)}} {
		_, err = Build(StartRequest{DAG: p, Budget: &b}, "")
		var ve *dag.ValidationError
		require.ErrorAs(t, err, &ve, "%+v", b)
		assert.Contains(t, ve.Error(), "budget.")
	}
}
