package activities

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/fakellm"
	"github.com/maestrohq/maestro/pricing"
	"github.com/maestrohq/maestro/run"
)

func withBudget(b run.Remaining) func(*run.NodeInput) {
	return func(in *run.NodeInput) { in.Budget = &b }
}

func withPrices(t pricing.Table) harnessOpt {
	return withConfig(func(c *Config) { c.Prices = t })
}

func TestAgentCostFromThePriceTable(t *testing.T) {
	srv := fakellm.New(t, testKey, text("ok"))
	h := newHarness(t, withAgent(dag.ProviderAnthropic, srv.URL), withPrices(pricing.Table{"test-model": {Input: 3, Output: 15}}))
	res := h.mustRun(agentNode("a", "design", dag.AgentSpec{}))
	// 120 in, 34 out.
	assert.InDelta(t, (120*3+34*15)/1e6, res.Usage.CostUSD, 1e-12)
	assert.False(t, res.Usage.CostUnknown)

	h = newHarness(t, withAgent(dag.ProviderAnthropic, srv.URL), withPrices(pricing.Builtin))
	res = h.mustRun(agentNode("a", "design", dag.AgentSpec{}))
	assert.Zero(t, res.Usage.CostUSD)
	assert.True(t, res.Usage.CostUnknown, "test-model has no price")
}

func TestAgentStopsBeforeACallOverTheBudget(t *testing.T) {
	srv := fakellm.New(t, testKey, text("ok"))
	h := newHarness(t, withAgent(dag.ProviderAnthropic, srv.URL), withPrices(pricing.Table{"test-model": {Input: 1e6}}))
	// The prompt alone is over 5 tokens: no call.
	_, err := h.run(agentNode("a", "design", dag.AgentSpec{}), withBudget(run.Remaining{Tokens: 5}))
	_, f := appError(t, err, run.ErrTypeBudgetExceeded, false)
	require.NotNil(t, f.Usage)
	assert.Zero(t, f.Usage.Tokens())
	assert.Empty(t, srv.Requests())
	// $1 a token: a cent is not enough either.
	_, err = h.run(agentNode("a", "design", dag.AgentSpec{}), withBudget(run.Remaining{USD: 0.01}))
	appError(t, err, run.ErrTypeBudgetExceeded, false)
	assert.Empty(t, srv.Requests())
	// Enough: the call is made and counted.
	res := h.mustRun(agentNode("a", "design", dag.AgentSpec{}), withBudget(run.Remaining{Tokens: 100000, USD: 1e6}))
	assert.Equal(t, 154, res.Usage.Tokens())
	assert.Len(t, srv.Requests(), 1)
}
