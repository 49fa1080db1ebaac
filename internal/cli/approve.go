package cli

import (
	"context"
	"fmt"

	"github.com/maestrohq/maestro/run"
)

// cmdApprove decides an approval node.
func cmdApprove(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("approve")
	reject := fs.Bool("reject", false, "reject the node instead (it fails and the failure policy applies)")
	comment := fs.String("comment", "", "comment `text` recorded with the decision")
	user, _ := a.env.LookupEnv("USER")
	by := fs.String("by", user, "`name` of who decides (default $USER)")
	asJSON := fs.Bool("json", false, "print the node's state as JSON")
	pos, err := parse(fs, args, "workflow-id", "node")
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	st, err := svc.Approve(ctx, pos[0], run.Approval{Node: pos[1], Approved: !*reject, Comment: *comment, By: *by})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.stdout, st)
	}
	switch {
	case st.Status == run.NodePending:
		fmt.Fprintf(a.stdout, "decision recorded for %s; it applies when the node starts waiting\n", pos[1])
	case st.Approval != nil:
		fmt.Fprintf(a.stdout, "%s: %s (%s)\n", pos[1], st.Status, oneLine(st.Output+st.Error))
	default:
		fmt.Fprintf(a.stdout, "%s: %s\n", pos[1], st.Status)
	}
	return nil
}
