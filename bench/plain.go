package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The plain workflow's registered names.
const (
	PlainWorkflowName = "BenchPlainWorkflow"
	PlainActivityName = "BenchPlainStep"
)

// Statement is one statement of a plain workflow, in the shape of Temporal's
// samples-go dsl workflow: exactly one of an activity call, a sequence of
// statements run one after the other, or a parallel block of statements run
// at once.
type Statement struct {
	Activity *Step       `json:"activity,omitempty"`
	Sequence []Statement `json:"sequence,omitempty"`
	Parallel []Statement `json:"parallel,omitempty"`
}

// Step is one call of the plain workflow's no-op activity.
type Step struct {
	// ID names the step; the activity returns "<ID> done".
	ID string `json:"id"`
	// Sleep is how long the activity waits before it returns.
	Sleep time.Duration `json:"sleep,omitempty"`
}

// Act returns an activity statement.
func Act(id string, sleep time.Duration) Statement {
	return Statement{Activity: &Step{ID: id, Sleep: sleep}}
}

// Seq returns a sequence statement.
func Seq(ss ...Statement) Statement { return Statement{Sequence: ss} }

// Par returns a parallel statement.
func Par(ss ...Statement) Statement { return Statement{Parallel: ss} }

// Steps counts the activity calls of s.
func (s Statement) Steps() int {
	if s.Activity != nil {
		return 1
	}
	n := 0
	for _, c := range append(s.Sequence, s.Parallel...) {
		n += c.Steps()
	}
	return n
}

// RegisterPlain registers the plain workflow and its activity on w, beside
// whatever else w runs (in the benchmarks, Maestro's DAGWorkflow).
func RegisterPlain(w worker.Registry) {
	registerPlainWorkflow(w)
	w.RegisterActivityWithOptions(PlainStep, activity.RegisterOptions{Name: PlainActivityName})
}

func registerPlainWorkflow(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(PlainWorkflow, workflow.RegisterOptions{Name: PlainWorkflowName})
}

// PlainStep is the plain workflow's activity: it waits the step's sleep and
// returns "<ID> done".
func PlainStep(ctx context.Context, s Step) (string, error) {
	if s.Sleep > 0 {
		t := time.NewTimer(s.Sleep)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("step %s: %w", s.ID, ctx.Err())
		case <-t.C:
		}
	}
	return s.ID + " done", nil
}

// PlainWorkflow runs root as samples-go's dsl workflow does: activities one
// by one in a sequence, a parallel block's branches each in a coroutine
// (the first failure cancels the others), each result kept by step ID. It
// returns the number of steps run.
func PlainWorkflow(ctx workflow.Context, root Statement) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Minute})
	results := map[string]string{}
	if err := root.execute(ctx, results); err != nil {
		return 0, err
	}
	return len(results), nil
}

func (s Statement) execute(ctx workflow.Context, results map[string]string) error {
	switch {
	case s.Activity != nil:
		var out string
		if err := workflow.ExecuteActivity(ctx, PlainActivityName, *s.Activity).Get(ctx, &out); err != nil {
			return fmt.Errorf("step %s: %w", s.Activity.ID, err)
		}
		results[s.Activity.ID] = out
		return nil
	case len(s.Sequence) > 0:
		for _, c := range s.Sequence {
			if err := c.execute(ctx, results); err != nil {
				return err
			}
		}
		return nil
	case len(s.Parallel) > 0:
		child, cancel := workflow.WithCancel(ctx)
		defer cancel()
		sel := workflow.NewSelector(ctx)
		var first error
		for _, c := range s.Parallel {
			f, settable := workflow.NewFuture(child)
			workflow.Go(child, func(ctx workflow.Context) { settable.Set(nil, c.execute(ctx, results)) })
			sel.AddFuture(f, func(f workflow.Future) {
				if err := f.Get(ctx, nil); err != nil && first == nil {
					first = err
					cancel()
				}
			})
		}
		for range s.Parallel {
			sel.Select(ctx)
			if first != nil {
				return first
			}
		}
		return nil
	}
	return nil
}
