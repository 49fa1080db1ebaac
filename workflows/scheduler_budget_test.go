package workflows

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

func agentNode(id string, deps ...string) dag.Node {
	return dag.Node{ID: id, DependsOn: deps, Executor: dag.NewExecutor(&dag.AgentSpec{Prompt: "do " + id})}
}

func budgetScheduler(t *testing.T, b *dag.Budget, policy dag.FailurePolicy, nodes ...dag.Node) *scheduler {
	t.Helper()
	p := dag.Pipeline{Name: "budget", Mode: dag.ModeDAGParallel, FailurePolicy: policy, Budget: b, Nodes: nodes}
	require.NoError(t, p.Validate())
	return newScheduler(run.Input{Pipeline: p}, nil)
}

func used(tokens int, usd float64) *run.Usage {
	return &run.Usage{Model: "m", InputTokens: tokens, CostUSD: usd}
}

func TestBudgetWaitsBeforeAnAgentAndResumesWhenExtended(t *testing.T) {
	s := budgetScheduler(t, &dag.Budget{Tokens: 100, USD: 1}, "", agentNode("a"), agentNode("b", "a"), task("c", "a"))
	require.Equal(t, "a", loop(t, s))
	assert.Equal(t, &run.Remaining{Tokens: 100, USD: 1}, s.remaining(0))
	assert.Nil(t, s.remaining(2), "not an agent")

	s.complete(0, run.NodeResult{Output: "x", Attempt: 1, Usage: used(100, 0.25)}, t0)
	var kinds []startKind
	s.startReady(t0, func(i int, k startKind) { kinds = append(kinds, k) })
	checkInvariants(t, s)
	assert.Equal(t, []startKind{startOverBudget, startActivity}, kinds, "b waits, the noop c runs")
	assert.Equal(t, run.NodeWaitingBudget, s.nodes[1].Status)
	assert.Equal(t, 1, s.count(run.NodeWaitingBudget))
	assert.Equal(t, &run.Budget{Tokens: 100, USD: 1, SpentTokens: 100, SpentUSD: 0.25}, s.budgetStatus())
	assert.False(t, s.done())
	assert.Nil(t, s.resumeBudget(t0), "still reached")

	// Refused decisions.
	assert.ErrorContains(t, s.checkBudget(budgetDecision{}), "positive amount")
	assert.ErrorContains(t, s.checkBudget(budgetDecision{AddUSD: -1}), "add_usd")
	assert.ErrorContains(t, s.checkBudget(budgetDecision{AddTokens: -1}), "add_tokens")
	assert.ErrorContains(t, s.checkBudget(budgetDecision{Reject: true, AddUSD: 1}), "not both")

	// Paused: extended, but nothing starts until resumed.
	s.pause()
	require.NoError(t, s.decideBudget(budgetDecision{AddTokens: 50, AddUSD: 1, By: "ana"}, t0))
	assert.Equal(t, 150, s.budget.Tokens)
	assert.Equal(t, 2.0, s.budget.USD)
	assert.Nil(t, s.resumeBudget(t0))
	s.resume()
	assert.Equal(t, []int{1}, s.resumeBudget(t0))
	checkInvariants(t, s)
	assert.Equal(t, run.NodeRunning, s.nodes[1].Status)
	assert.Equal(t, &run.Remaining{Tokens: 50, USD: 1.75}, s.remaining(1))

	// The attempt stops at the budget: its usage counts, the node waits.
	assert.True(t, s.budgetStopped(1, used(40, 0.5), "stopped"))
	checkInvariants(t, s)
	assert.Equal(t, run.NodeWaitingBudget, s.nodes[1].Status)
	assert.Equal(t, "stopped", s.nodes[1].LastError)
	assert.Equal(t, 140, s.budget.SpentTokens)
	assert.InDelta(t, 0.75, s.budget.SpentUSD, 1e-9)
	assert.Nil(t, s.resumeBudget(t0), "below the limit, but what is left stopped it: it waits for an extension")

	require.NoError(t, s.decideBudget(budgetDecision{AddTokens: 1000, AddUSD: 1}, t0))
	assert.Equal(t, []int{1}, s.resumeBudget(t0))
	s.complete(1, run.NodeResult{Output: "y", Attempt: 1, Usage: used(10, 0.1)}, t0)
	s.complete(2, run.NodeResult{Output: "z", Attempt: 1}, t0)
	loop(t, s)
	require.True(t, s.done())
	assert.Equal(t, run.Completed, s.finish())
	assert.Equal(t, 150, s.budgetStatus().SpentTokens)
}

func TestBudgetRejectionFailsTheWaitingNodes(t *testing.T) {
	s := budgetScheduler(t, &dag.Budget{USD: 0.5}, dag.Continue, agentNode("a"), agentNode("b", "a"), agentNode("c", "a"), agentNode("d", "b"))
	assert.ErrorContains(t, s.checkBudget(budgetDecision{AddTokens: 5}), "usd only")
	assert.ErrorContains(t, s.checkBudget(budgetDecision{Reject: true}), "no node waits")
	require.Equal(t, "a", loop(t, s))
	s.complete(0, run.NodeResult{Attempt: 1, Usage: &run.Usage{Model: "cli", InputTokens: 1, CostUSD: 0.6}}, t0)
	require.Equal(t, "b,c", loop(t, s), "both wait (launched as over budget)")
	assert.Equal(t, 2, s.count(run.NodeWaitingBudget))

	require.NoError(t, s.decideBudget(budgetDecision{Reject: true, Comment: "too dear", By: "ana"}, t0))
	loop(t, s)
	for _, id := range []string{"b", "c"} {
		n := s.nodes[s.index[id]]
		assert.Equal(t, run.NodeFailed, n.Status, id)
		assert.Equal(t, run.ErrTypeBudgetExceeded, n.ErrorType, id)
		assert.Equal(t, "budget extension rejected by ana: too dear", n.Error, id)
	}
	assert.Equal(t, run.NodeSkipped, s.nodes[3].Status)
	require.True(t, s.done())
	assert.Equal(t, run.Failed, s.finish())
}

func TestBudgetWaitingNodesAreCancelledWhenTheRunStops(t *testing.T) {
	s := budgetScheduler(t, &dag.Budget{Tokens: 1}, "", agentNode("a"), agentNode("b", "a"))
	loop(t, s)
	s.complete(0, run.NodeResult{Attempt: 1, Usage: used(5, 0)}, t0)
	loop(t, s)
	require.Equal(t, run.NodeWaitingBudget, s.nodes[1].Status)
	s.stop(run.Cancelled, "run cancelled")
	loop(t, s)
	assert.Equal(t, run.NodeCancelled, s.nodes[1].Status)
	assert.ErrorContains(t, s.checkBudget(budgetDecision{AddTokens: 5}), "ending")
	require.True(t, s.done())
}

func TestNoBudget(t *testing.T) {
	s := budgetScheduler(t, nil, "", agentNode("a"))
	loop(t, s)
	assert.Nil(t, s.remaining(0))
	assert.Nil(t, s.budgetStatus())
	assert.False(t, s.budgetStopped(0, used(1, 0), "x"))
	assert.ErrorContains(t, s.checkBudget(budgetDecision{AddTokens: 5}), "no budget")
	// Zero limits are no budget.
	assert.Nil(t, newBudgetState(&dag.Budget{}))
}

func TestBudgetCountsCLIReportedCost(t *testing.T) {
	s := budgetScheduler(t, &dag.Budget{USD: 10}, "", agentNode("a"), agentNode("b"))
	loop(t, s)
	// A coding-agent CLI reports its own cost; an API model without a
	// price reports none and is flagged.
	s.complete(0, run.NodeResult{Attempt: 1, Usage: &run.Usage{Model: "claude-sonnet-4-5", InputTokens: 10, OutputTokens: 5, CacheReadTokens: 100, CostUSD: 1.25}}, t0)
	s.complete(1, run.NodeResult{Attempt: 1, Usage: &run.Usage{Model: "mystery", InputTokens: 3, CostUnknown: true}}, t0)
	assert.Equal(t, &run.Budget{USD: 10, SpentTokens: 118, SpentUSD: 1.25, CostUnknown: true}, s.budgetStatus())
}
