package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// rewindResult is the JSON output of rewind.
type rewindResult struct {
	*runs.Rewound
	Status *run.Status `json:"status,omitempty"`
}

// cmdRewind resets a run to the point just before one of its nodes started.
func cmdRewind(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("rewind")
	to := fs.String("to", "", "the `node` to rewind to: it and what started after it run again")
	keep := fs.Bool("keep-signals", false, "re-apply the signals and updates (approvals, budget decisions) the run received after that point; by default they are dropped")
	reason := fs.String("reason", "", "the `reason`, recorded in the run's history")
	wait := fs.Bool("wait", false, "wait for the run to finish, show every node's result and exit 1 unless it completed")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, "workflow-id")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*to) == "" {
		return usagef("rewind", "rewind: give the node to rewind to with --to")
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	rw, err := svc.Rewind(ctx, pos[0], *to, runs.RewindOptions{KeepSignals: *keep, Reason: *reason})
	if err != nil {
		return err
	}
	res := rewindResult{Rewound: rw}
	if !*asJSON {
		printRewound(a, rw)
	}
	if !*wait {
		if *asJSON {
			return writeJSON(a.stdout, res)
		}
		return nil
	}
	if !*asJSON {
		fmt.Fprintf(a.stderr, "waiting for %s to finish (Ctrl-C stops waiting, not the run)\n", rw.WorkflowID)
	}
	st, err := a.wait(ctx, svc, rw.WorkflowID)
	if err != nil {
		return err
	}
	res.Status = st
	if *asJSON {
		if err := writeJSON(a.stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(a.stdout)
		printStatus(a.stdout, st)
	}
	return outcome(st, run.Completed)
}

// printRewound says what a rewind did.
func printRewound(a *app, rw *runs.Rewound) {
	list := func(ids []string) string {
		if len(ids) == 0 {
			return "none"
		}
		return strings.Join(ids, ", ")
	}
	fmt.Fprintf(a.stdout, "rewound %s to %s (event %d of run %s)\n", rw.WorkflowID, rw.To, rw.ResetEventID, rw.PreviousRunID)
	fmt.Fprintf(a.stdout, "new run id:   %s\n", rw.RunID)
	fmt.Fprintf(a.stdout, "runs again:   %s\n", list(append([]string{rw.To}, rw.Rerun...)))
	fmt.Fprintf(a.stdout, "keeps result: %s\n", list(rw.Kept))
	for _, n := range rw.Notes {
		fmt.Fprintf(a.stdout, "note:         %s\n", n)
	}
	switch {
	case len(rw.SignalsAfter) == 0:
	case rw.KeepSignals:
		fmt.Fprintf(a.stdout, "re-applied:   %d signal(s)/update(s) received after that point (%s)\n", len(rw.SignalsAfter), list(rw.SignalsAfter))
	default:
		fmt.Fprintf(a.stdout, "dropped:      %d signal(s)/update(s) received after that point (%s); --keep-signals re-applies them\n", len(rw.SignalsAfter), list(rw.SignalsAfter))
	}
}
