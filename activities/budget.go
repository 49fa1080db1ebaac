package activities

import (
	"fmt"

	"github.com/maestrohq/maestro/run"
)

// price sets u's cost from the worker's price table (see Config.Prices)
// unless the agent reported its own.
func (a *Activities) price(u *run.Usage) {
	if a.cfg.Prices != nil {
		a.cfg.Prices.Fill(u)
	}
}

// overBudget returns a BudgetExceeded error when a model call whose input
// is about next tokens would cross what is left of the run's budget
// (in.Budget), with used the attempt's usage so far; nil when the node has
// no budget or the call fits. The input is the lower bound of what a call
// costs (its answer comes on top), so a call that certainly crosses the
// budget is never made; one that crosses it with its answer is counted
// and the run's next agent waits.
func (a *Activities) overBudget(in run.NodeInput, used run.Usage, next int) error {
	b := in.Budget
	if b == nil || (b.Tokens <= 0 && b.USD <= 0) {
		return nil
	}
	u := used
	a.price(&u)
	spentUSD := u.CostUSD
	nextUSD := 0.0
	if a.cfg.Prices != nil {
		nextUSD = a.cfg.Prices.Estimate(run.Usage{Model: used.Model, InputTokens: next})
	}
	var why string
	switch {
	case b.Tokens > 0 && u.Tokens()+next > b.Tokens:
		why = fmt.Sprintf("%d tokens used and about %d more for the next model call, over the %d left of the run's budget", u.Tokens(), next, b.Tokens)
	case b.USD > 0 && spentUSD+nextUSD > b.USD:
		why = fmt.Sprintf("$%.4f spent and about $%.4f more for the next model call, over the $%.4f left of the run's budget", spentUSD, nextUSD, b.USD)
	default:
		return nil
	}
	usage := used
	return &nodeError{typ: run.ErrTypeBudgetExceeded, nonRetryable: true, failure: run.Failure{Usage: &usage},
		msg: "agent: stopped before a model call: " + why}
}

// estimateTokens is a rough count of the tokens of a prompt: about four
// bytes a token.
func estimateTokens(texts ...string) int {
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	return (n + 3) / 4
}
