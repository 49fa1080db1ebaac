package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/maestrohq/maestro/run"
)

// cmdNodes prints a run's nodes page by page: every node of a run of any
// size (a status shows the first run.StatusNodes), optionally only those in
// one state.
func cmdNodes(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("nodes")
	asJSON := fs.Bool("json", false, "print JSON (one page: nodes, next_page_token, total)")
	state := fs.String("status", "", "only nodes in `state`: "+nodeStates())
	pageSize := fs.Int("page-size", run.MaxNodesPage, "nodes per request (1 to 1000)")
	token := fs.String("page-token", "", "start from this page (a next_page_token); with --json, print only that page")
	pos, err := parse(fs, args, "workflow-id")
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	q := run.NodesQuery{Status: run.NodeState(*state), PageSize: *pageSize, PageToken: *token}
	total := 0
	for {
		p, err := svc.Nodes(ctx, pos[0], q)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(a.stdout, p)
		}
		printNodes(a.stdout, p.Nodes)
		total = p.Total
		if p.NextPageToken == "" {
			break
		}
		q.PageToken = p.NextPageToken
	}
	fmt.Fprintf(a.stdout, "%d node(s)\n", total)
	return nil
}

// nodeStates lists the node states for help texts.
func nodeStates() string {
	names := make([]string, len(run.NodeStates))
	for i, s := range run.NodeStates {
		names[i] = string(s)
	}
	return strings.Join(names, ", ")
}
