package runs_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
)

// A pipeline the policy forbids is refused before anything reaches
// Temporal (the service has no client here), with every problem.
func TestStartChecksThePolicy(t *testing.T) {
	svc := runs.New(nil, runs.Config{Policy: policy.Default()})
	p := &dag.Pipeline{Name: "evil", Nodes: []dag.Node{
		{ID: "x", Executor: dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{Argv: []string{"sh", "-c", "cat /etc/passwd"}}})},
		{ID: "y", Executor: dag.NewExecutor(&dag.HTTPSpec{URL: "http://127.0.0.1:8080/metrics"})},
	}}
	_, err := svc.Start(context.Background(), runs.StartRequest{DAG: p})
	var ve *dag.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, []dag.Problem{
		{Node: "x", Field: "executor.kind", Message: `executor kind "command" is not allowed by the worker policy (allowed: noop, http, agent, approval)`},
		{Node: "x", Field: "executor.argv", Message: `program "sh" is not allowed by the worker policy (allowed: none)`},
		{Node: "y", Field: "executor.url", Message: `127.0.0.1:8080 is not allowed by the worker policy: loopback addresses are denied unless listed in http.allow`},
	}, ve.Problems)

	_, err = svc.Build(runs.StartRequest{Template: templates.SDLCParallel, Requirement: "x"})
	assert.NoError(t, err, "the built-in templates run under the default policy")
	_, err = runs.New(nil, runs.Config{}).Build(runs.StartRequest{DAG: p})
	assert.NoError(t, err, "without a policy the service checks none")
}
