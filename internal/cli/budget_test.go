package cli

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/run"
)

func TestBudgetLine(t *testing.T) {
	assert.Equal(t, "$0.0120 of $5.00, 1200 of 100000 tokens",
		budgetLine(&run.Budget{USD: 5, Tokens: 100000, SpentUSD: 0.012, SpentTokens: 1200}))
	assert.Equal(t, "$5.0000 of $5.00, 10 tokens (reached: agents wait for maestro budget) (some models have no price: their cost is not counted)",
		budgetLine(&run.Budget{USD: 5, SpentUSD: 5, SpentTokens: 10, CostUnknown: true}))
}

func TestBudgetCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	env, cli := onServer(t)
	file := writeFile(t, "gated.yaml", `name: gated
mode: dag_parallel
budget: {usd: 1}
nodes:
  - {id: gate, executor: {kind: approval}}
`)
	id := "budget-" + env.TaskQueue
	r := cli("start", "--file", file, "--id", id, "--budget-tokens", "500")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)

	r = cli("budget", id)
	assert.Equal(t, 2, r.code, "an amount or --reject is required: %s", r.stderr)
	r = cli("budget", id, "--add-usd", "-1")
	assert.Equal(t, 2, r.code)

	r = cli("budget", id, "--add-usd", "5", "--add-tokens", "1000")
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Equal(t, "budget: $0.0000 of $6.00, 0 of 1500 tokens\n", r.stdout)

	r = cli("status", id)
	require.Equal(t, 0, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stdout, "budget:    $0.0000 of $6.00, 0 of 1500 tokens\n")

	r = cli("budget", id, "--reject")
	assert.Equal(t, 1, r.code, "no node waits for the budget")
	assert.Contains(t, r.stderr, "no node waits")
	require.NoError(t, env.Runs.Cancel(t.Context(), id))
}
