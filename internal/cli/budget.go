package cli

import (
	"context"
	"fmt"

	"github.com/maestrohq/maestro/run"
)

// cmdBudget extends a run's budget, or rejects the extension.
func cmdBudget(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("budget")
	addUSD := fs.Float64("add-usd", 0, "US `dollars` to add to the budget")
	addTokens := fs.Int("add-tokens", 0, "`tokens` to add to the budget")
	reject := fs.Bool("reject", false, "reject instead: the nodes waiting for the budget fail and the failure policy applies")
	comment := fs.String("comment", "", "comment `text` recorded with a rejection")
	by := fs.String("by", a.userName(), "`name` of who decides (default $USER, $LOGNAME or the account name)")
	asJSON := fs.Bool("json", false, "print the budget as JSON")
	pos, err := parse(fs, args, "workflow-id")
	if err != nil {
		return err
	}
	d := run.BudgetDecision{AddUSD: *addUSD, AddTokens: *addTokens, Reject: *reject, Comment: *comment, By: *by}
	if err := d.Check(); err != nil {
		return usagef("budget", "budget: %v", err)
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	b, err := svc.ExtendBudget(ctx, pos[0], d)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.stdout, b)
	}
	if *reject {
		fmt.Fprintf(a.stdout, "rejected: the nodes waiting for the budget fail; spent %s\n", budgetLine(b))
		return nil
	}
	fmt.Fprintf(a.stdout, "budget: %s\n", budgetLine(b))
	return nil
}
