package cli

import (
	"context"
	"fmt"
	"os/user"
	"strings"

	"github.com/maestrohq/maestro/run"
)

// cmdApprove decides an approval node.
func cmdApprove(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("approve")
	reject := fs.Bool("reject", false, "reject the node instead (it fails and the failure policy applies)")
	comment := fs.String("comment", "", "comment `text` recorded with the decision")
	by := fs.String("by", a.userName(), "`name` of who decides (default $USER, $LOGNAME or the account name)")
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

// userName is who runs the command: $USER, $LOGNAME, else the account's
// name.
func (a *app) userName() string {
	for _, k := range []string{"USER", "LOGNAME"} {
		if v, _ := a.env.LookupEnv(k); strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}
