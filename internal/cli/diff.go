package cli

import (
	"context"
	"fmt"
	"strings"
)

// cmdDiff prints the unified diff of a workspace run (start..head) or of one
// of its nodes (against the commit it started from). git runs here, in this
// machine's workspace directory (MAESTRO_WORKSPACE_DIR), fetching from the
// run's repository what it lacks.
func cmdDiff(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("diff")
	asJSON := fs.Bool("json", false, "print JSON (from, to, diff, truncated)")
	pos, err := parse(fs, args, "workflow-id", "node")
	if ue, ok := err.(usageError); ok && strings.HasSuffix(ue.msg, "missing node") {
		pos, err = parse(fs, args, "workflow-id")
	}
	if err != nil {
		return err
	}
	node := ""
	if len(pos) == 2 {
		node = pos[1]
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	d, err := svc.Diff(ctx, pos[0], node)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.stdout, d)
	}
	if _, err := fmt.Fprint(a.stdout, d.Text); err != nil {
		return err
	}
	if d.Truncated {
		fmt.Fprintf(a.stderr, "maestro: the diff %s..%s is cut at %d bytes\n", d.From, d.To, len(d.Text))
	}
	return nil
}
