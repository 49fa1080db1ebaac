package workflows

import (
	"context"
	"testing"

	"github.com/maestrohq/maestro/run"
)

// BenchmarkDAGWorkflowLargeRun runs a 2,000-node layered pipeline (width 50)
// through the workflow on the SDK's test environment, with activities that
// return at once: the workflow's own cost (and the SDK's) for a large run.
// Before the scheduler, building a full status snapshot on every event made
// one such run allocate about 900 MB.
func BenchmarkDAGWorkflowLargeRun(b *testing.B) {
	p := layered(2000, 50)
	if err := p.Validate(); err != nil {
		b.Fatal(err)
	}
	exec := func(context.Context, run.NodeInput) (run.NodeResult, error) {
		return run.NodeResult{Output: "ok", Attempt: 1}, nil
	}
	b.ReportAllocs()
	for b.Loop() {
		env := newTestEnv(b, exec)
		env.ExecuteWorkflow(DAGWorkflow, run.Input{Pipeline: p})
		if err := env.GetWorkflowError(); err != nil {
			b.Fatal(err)
		}
	}
}
