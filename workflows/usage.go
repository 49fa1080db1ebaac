package workflows

import (
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"go.temporal.io/sdk/workflow"
)

// totalUsage sums the token usage of nodes; its Model is the model they all
// used, or empty when they used several. It is nil when no node reported
// usage.
func totalUsage(nodes []run.NodeStatus) *run.Usage {
	var total *run.Usage
	add := func(u *run.Usage) {
		if u == nil {
			return
		}
		if total == nil {
			total = &run.Usage{Model: u.Model}
		} else if total.Model != u.Model {
			total.Model = ""
		}
		total.InputTokens += u.InputTokens
		total.OutputTokens += u.OutputTokens
		total.CacheReadTokens += u.CacheReadTokens
		total.CacheWriteTokens += u.CacheWriteTokens
		total.CostUSD += u.CostUSD
	}
	for _, n := range nodes {
		add(n.Usage)
		for _, r := range n.Repairs {
			add(r.Usage)
		}
	}
	return total
}

// simulated reports whether some of a run's outputs are placeholders: a
// node's result says so (an agent phase of a built-in template, run by a
// worker with no agent provider), or the run is a built-in template whose
// phases all use the noop executor (as earlier versions built templates when
// the starting process had no agent provider).
func simulated(in run.Input, results []*run.NodeResult) bool {
	for _, res := range results {
		if res != nil && res.Simulated {
			return true
		}
	}
	if in.Template == "" || len(in.Pipeline.Nodes) == 0 {
		return false
	}
	for _, n := range in.Pipeline.Nodes {
		if n.Executor.Kind != dag.KindNoop {
			return false
		}
	}
	return true
}

// versionUsageMemo marks runs that record their token usage and cost in
// their memo when they end, so that run lists show it without reading each
// run.
const versionUsageMemo = "usage-in-memo"

// MemoUsage is the memo key of a finished run's total usage (run.Usage).
const MemoUsage = "usage"

// memoUsage records the run's total usage in its memo, when it has any.
func (r *execution) memoUsage(ctx workflow.Context, u *run.Usage) {
	if u == nil || workflow.GetVersion(ctx, versionUsageMemo, workflow.DefaultVersion, 1) != 1 {
		return
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoUsage: u}); err != nil {
		r.logger.Warn("cannot record the run's usage in its memo", "error", err)
	}
}
