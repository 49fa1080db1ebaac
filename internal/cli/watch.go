package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
)

// watchRun prints a run's events as they happen, one line each, until it
// ends, then its final status.
func watchRun(ctx context.Context, w io.Writer, svc *runs.Service, id string) error {
	events, err := svc.Watch(ctx, id, runs.WatchOptions{})
	if err != nil {
		return err
	}
	var final *run.Status
	for ev := range events {
		switch ev.Type {
		case runs.EventSnapshot:
			fmt.Fprintf(w, "%s %s: %s, %d/%d nodes completed\n", clock(nil), id, ev.Status, ev.Run.CompletedNodes, ev.Run.TotalNodes)
			for _, n := range ev.Run.Nodes {
				if n.Status == run.NodeRunning && n.Progress != nil {
					fmt.Fprintf(w, "%s %s %s\n", clock(nil), n.ID, describeProgress(n.Progress))
				}
			}
		case runs.EventRunFinished:
			final = ev.Run
		case runs.EventError:
			fmt.Fprintf(w, "%s %s\n", clock(ev.At), oneLine(ev.Error))
		default:
			fmt.Fprintln(w, eventLine(ev))
		}
	}
	if final == nil {
		return ctx.Err()
	}
	fmt.Fprintln(w)
	printStatus(w, final)
	return nil
}

// eventLine is one event as a line: time, node, what happened.
func eventLine(ev runs.Event) string {
	what := strings.TrimPrefix(ev.Type, "node_")
	switch ev.Type {
	case runs.EventNodeProgress:
		what = describeProgress(ev.Progress)
	case runs.EventNodeRetrying:
		what = fmt.Sprintf("retrying (attempt %d) after: %s", ev.Attempts, oneLine(ev.Error))
	case runs.EventNodeFailed:
		what = "failed: " + oneLine(ev.Error)
	case runs.EventRunPaused, runs.EventRunResumed:
		return fmt.Sprintf("%s run %s", clock(ev.At), strings.TrimPrefix(ev.Type, "run_"))
	}
	return clip(fmt.Sprintf("%s %s %s", clock(ev.At), ev.Node, what), 200)
}

// describeProgress says what a node is doing.
func describeProgress(p *run.Progress) string {
	if p == nil {
		return "running"
	}
	var b strings.Builder
	if p.Turn > 0 {
		fmt.Fprintf(&b, "turn %d: ", p.Turn)
	}
	b.WriteString(oneLine(p.Step))
	var extra []string
	if p.Files > 0 {
		extra = append(extra, fmt.Sprintf("%d files changed", p.Files))
	}
	if p.InputTokens+p.OutputTokens > 0 {
		extra = append(extra, fmt.Sprintf("%d tokens", p.InputTokens+p.OutputTokens))
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	}
	return b.String()
}

// clock is an event's time of day, or now's.
func clock(at *time.Time) string {
	t := time.Now()
	if at != nil {
		t = *at
	}
	return t.Local().Format("15:04:05")
}
