package workflows

import (
	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
)

// totalUsage sums the token usage of nodes; its Model is the model they all
// used, or empty when they used several. It is nil when no node reported
// usage.
func totalUsage(nodes []NodeStatus) *activities.Usage {
	var total *activities.Usage
	for _, n := range nodes {
		u := n.Usage
		if u == nil {
			continue
		}
		if total == nil {
			total = &activities.Usage{Model: u.Model}
		} else if total.Model != u.Model {
			total.Model = ""
		}
		total.InputTokens += u.InputTokens
		total.OutputTokens += u.OutputTokens
	}
	return total
}

// simulated reports whether a run is a built-in template whose phases all
// use the noop executor: it was built without an agent provider, so its
// outputs are placeholders.
func simulated(in Input) bool {
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
