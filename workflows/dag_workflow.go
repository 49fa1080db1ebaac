// Package workflows turns a validated pipeline DAG into one Temporal
// workflow: it schedules each node as an activity the moment its dependencies
// complete, keeps the node state table behind the status query, honours pause
// and resume signals, the failure policy, the whole-run timeout and
// cancellation, and carries completed work over when a failed run is retried.
// Everything here is deterministic workflow code.
//
// The decisions (what starts when, what is skipped, when the run ends) are
// plain Go in the scheduler (scheduler.go), which knows nothing of Temporal
// and is tested on its own; DAGWorkflow around it does only the Temporal
// side: activities, timers, signals, the query and update handlers and the
// progress shown in the Web UI.
package workflows

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// Names that clients and the temporal CLI use.
const (
	// WorkflowName is the registered workflow type.
	WorkflowName = "DAGWorkflow"
	// DefaultTaskQueue is the task queue workers poll unless configured.
	DefaultTaskQueue = "maestro"
	// QueryStatus returns the run's state (run.Status).
	QueryStatus = "status"
	// QueryNodes returns a page of the run's nodes (run.NodesPage) for a
	// run.NodesQuery.
	QueryNodes = "nodes"
	// SignalPause stops new nodes from starting; running nodes finish.
	SignalPause = "pause"
	// SignalResume lets a paused run start nodes again.
	SignalResume = "resume"
)

// Error types of the workflow's own failures.
const (
	ErrTypePipelineFailed   = "PipelineFailed"
	ErrTypePipelineTimedOut = "PipelineTimedOut"
	ErrTypeInvalidPipeline  = "InvalidPipeline"
)

// versionSkipAtOnce marks runs that skip the dependents of an approval node
// rejected early as soon as it starts. Before it, they stayed pending until
// the next event, so a run under the continue policy with nothing else to
// do waited for its timeout.
const versionSkipAtOnce = "skip-dependents-of-early-rejection"

// Register registers the workflow on a worker.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(DAGWorkflow, workflow.RegisterOptions{Name: WorkflowName})
}

// DAGWorkflow runs one pipeline. It returns the final run.Status when every node
// completed. Otherwise it fails with an application error of type
// PipelineFailed or PipelineTimedOut, or ends cancelled; either way the final
// Status is the error's details.
func DAGWorkflow(ctx workflow.Context, in run.Input) (*run.Status, error) {
	in, carried, err := continued(in)
	if err != nil {
		return nil, err
	}
	if err := in.Pipeline.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidPipeline, nil)
	}
	r := newRun(ctx, in)
	if carried != nil {
		r.restore(carried)
	} else {
		recordRunStarted(ctx, in.Template)
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (*run.Status, error) {
		return r.snapshot(), nil
	}, workflow.QueryHandlerOptions{Description: "The run's state, a summary and its first nodes (all of a run of up to 1,000)"}); err != nil {
		return nil, fmt.Errorf("set the status query handler: %w", err)
	}
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryNodes, func(q run.NodesQuery) (*run.NodesPage, error) {
		if err := q.Check(); err != nil {
			return nil, err
		}
		p := r.s.page(q)
		return &p, nil
	}, workflow.QueryHandlerOptions{Description: `A page of the run's nodes: {"status": "failed", "page_token": "...", "page_size": 500}`}); err != nil {
		return nil, fmt.Errorf("set the nodes query handler: %w", err)
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ApproveName, r.approveUpdate, workflow.UpdateHandlerOptions{
		Validator:   r.validateApproval,
		Description: "Approve or reject an approval node; returns the node's state",
	}); err != nil {
		return nil, fmt.Errorf("set the approve update handler: %w", err)
	}
	if err := r.registerBudget(ctx); err != nil {
		return nil, err
	}
	if r.p.Workspace != nil && r.ws == nil {
		r.prepareWorkspace(ctx)
	}
	st, err := r.execute(ctx)
	// Let running approve updates answer before the run closes; they end
	// once their node is final, as every node now is.
	waitCtx, _ := workflow.NewDisconnectedContext(ctx)
	if werr := workflow.Await(waitCtx, func() bool {
		return workflow.AllHandlersFinished(ctx)
	}); werr != nil {
		r.logger.Warn("cannot wait for update handlers", "error", werr)
	}
	return st, err
}

// execution is the Temporal side of one run: the scheduler decides, the
// execution carries out its decisions with activities and timers and reports progress.
type execution struct {
	in      run.Input
	p       dag.Pipeline
	s       *scheduler
	started time.Time
	ended   *time.Time
	logger  log.Logger
	info    *workflow.Info
	// indexed is the MaestroStatus search attribute's value, when the run
	// was started with it (runs started without it never set it).
	indexed run.State
	// details is the current details last set.
	details string
	// approvals carries decisions from the approve update to the loop.
	approvals workflow.Channel
	// gates cancels the timeout timers of waiting approval nodes.
	gates map[int]workflow.CancelFunc
	// ws is the repository of a workspace run, nil in other runs.
	ws *run.WorkspaceStatus
	// bud carries budget decisions to the loop (see budget.go).
	bud budgetLoop
	// part counts the earlier parts of a run that continued as new;
	// carrying says this part is getting ready to (see carry.go).
	part     int
	carrying bool
	// noCarry says the carried state was too big once: the run stays in
	// this part.
	noCarry bool
	// task, taskBytes and taskTimer bound what one workflow task starts
	// (see taskFull); paramsBytes is the params' size as JSON, -1 until
	// known (see startBytes).
	task        int
	taskBytes   int
	taskTimer   bool
	paramsBytes int
}

func newRun(ctx workflow.Context, in run.Input) *execution {
	logger := workflow.GetLogger(ctx)
	s := newScheduler(in, logger)
	r := &execution{
		in:          in,
		p:           s.p,
		s:           s,
		started:     workflow.Now(ctx),
		logger:      logger,
		info:        workflow.GetInfo(ctx),
		approvals:   workflow.NewBufferedChannel(ctx, 10),
		gates:       map[int]workflow.CancelFunc{},
		paramsBytes: -1,
	}
	if v, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(SearchAttrStatus); ok {
		r.indexed = run.State(v)
	}
	return r
}

// execute is the event loop: it starts what the scheduler says, and feeds
// it the timer, signals, decisions and activity results.
func (r *execution) execute(ctx workflow.Context) (*run.Status, error) {
	nodesCtx, cancelNodes := workflow.WithCancel(ctx)
	sel := workflow.NewSelector(ctx)

	// The run's own timer, so a timeout records every node's state instead
	// of the server cutting the run off.
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(timerCtx, r.runTimeout(ctx), workflow.TimerOptions{Summary: "run timeout"})
	sel.AddFuture(timer, func(f workflow.Future) {
		err := f.Get(ctx, nil)
		switch {
		case err == nil:
			r.s.stop(run.TimedOut, fmt.Sprintf("run timed out after %s", r.p.RunTimeout()))
		case ctx.Err() != nil: // the workflow was cancelled, which cancels the timer
			r.s.stop(run.Cancelled, "run cancelled")
		}
	})
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalPause), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		r.s.pause()
	})
	sel.AddReceive(workflow.GetSignalChannel(ctx, SignalResume), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		r.s.resume()
	})
	receiveApproval := func(c workflow.ReceiveChannel, _ bool) {
		var req approvalRequest
		c.Receive(ctx, &req)
		r.receiveApproval(ctx, req)
	}
	sel.AddReceive(workflow.GetSignalChannel(ctx, ApproveName), receiveApproval)
	sel.AddReceive(r.approvals, receiveApproval)
	r.receiveBudget(ctx, sel)

	for {
		if !r.carrying && r.wantsCarry(ctx) {
			r.carrying, r.s.hold = true, true
		}
		r.startReady(ctx, nodesCtx, sel)
		if r.s.hasDeferred() && workflow.GetVersion(ctx, versionSkipAtOnce, workflow.DefaultVersion, 1) == 1 {
			r.s.skipDeferred()
		}
		if r.s.stopping != "" {
			r.cancelApprovals(ctx) // they have nothing to wait for
		}
		r.publish(ctx)
		if r.s.done() {
			break
		}
		if r.s.stopping != "" {
			cancelNodes() // idempotent; running nodes resolve as cancelled
		}
		if r.carrying && len(r.s.active) == 0 && r.s.stopping == "" {
			// Nothing runs: apply the signals already here, then go on
			// in a new part (unless one of them stops the run).
			for sel.HasPending() {
				sel.Select(ctx)
			}
			switch {
			case r.s.stopping != "":
				r.carrying, r.s.hold = false, false
			case len(r.s.active) > 0:
				// A decision let a node start (it waits or runs): drain again.
			case !workflow.AllHandlersFinished(ctx):
				// An update handler (approve, extend_budget) has not
				// answered yet: wait for it, or for the next event.
				_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) || sel.HasPending() })
			default:
				if err := r.continueAsNew(ctx); err != nil {
					return nil, err
				}
				// The carried state is too big to hand over: go on here.
				r.carrying, r.s.hold = false, false
			}
			continue
		}
		sel.Select(ctx)
	}
	cancelNodes()
	return r.finish(ctx)
}

// startReady starts what the scheduler lets start now.
func (r *execution) startReady(ctx, nodesCtx workflow.Context, sel workflow.Selector) {
	r.resumeBudget(ctx, nodesCtx, sel)
	if task := workflow.GetInfo(ctx).GetCurrentHistoryLength(); task != r.task {
		r.task, r.taskBytes = task, 0
	}
	r.s.full = func() bool { return r.taskFull(ctx, sel) }
	r.s.startReady(workflow.Now(ctx), func(i int, kind startKind) {
		switch kind {
		case startActivity:
			r.startActivity(ctx, nodesCtx, sel, i)
		case startWaiting:
			r.startGate(ctx, nodesCtx, sel, i)
		}
	})
}

// maxTaskStartBytes bounds the activity inputs one workflow task schedules:
// Temporal's frontend takes at most 4 MiB in one message, and a task that
// started 10 nodes carrying 450 KB of params each was refused, which
// terminated the run. Past the bound, the rest start in the next task.
// Changing it changes the commands of recorded runs (the replay of
// big_inputs_batched fails): guard a change with workflow.GetVersion.
const maxTaskStartBytes = 1 << 20

// versionBatchStarts marks runs that start nodes over several workflow
// tasks when their inputs are big (see taskFull). Runs before it started
// every ready node at once.
const versionBatchStarts = "batch-big-starts"

// taskFull reports whether this workflow task scheduled maxTaskStartBytes
// of activity inputs already; then it makes sure a next task comes (a 1 ms
// timer) to start the rest. Runs replaying from before versionBatchStarts
// never stop.
func (r *execution) taskFull(ctx workflow.Context, sel workflow.Selector) bool {
	if r.taskBytes < maxTaskStartBytes {
		return false
	}
	if workflow.GetVersion(ctx, versionBatchStarts, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return false
	}
	if !r.taskTimer {
		r.taskTimer = true
		sel.AddFuture(workflow.NewTimer(ctx, time.Millisecond), func(workflow.Future) { r.taskTimer = false })
	}
	return true
}

// startBytes is what an activity input is taken to weigh when taskFull
// counts what one workflow task scheduled: 1 KiB for the node's settings,
// the text its author wrote in them (dag.Executor.TextBytes), the run's
// params as JSON when the input has them, and the dependencies' outputs as
// cut. Fixed quantities rather than the input's encoding, so that where a
// task stops does not move when an input type gains a field; a change to
// this function changes the commands of recorded runs: guard it with
// workflow.GetVersion.
func (r *execution) startBytes(in run.NodeInput) int {
	n := 1024 + in.Node.Executor.TextBytes()
	if in.Params != nil {
		if r.paramsBytes < 0 {
			b, _ := json.Marshal(r.p.Params)
			r.paramsBytes = len(b)
		}
		n += r.paramsBytes
	}
	for id, out := range in.Inputs {
		n += len(id) + len(out)
	}
	return n
}

// startActivity runs node i's activity.
func (r *execution) startActivity(ctx, nodesCtx workflow.Context, sel workflow.Selector, i int) {
	if c := r.repairSpec(i); c != nil {
		r.startRepairable(ctx, nodesCtx, sel, i, c) // see repair.go
		return
	}
	d := r.p.Nodes[i]
	actCtx := workflow.WithActivityOptions(nodesCtx, activityOptions(r.p, d))
	in := r.nodeInput(d, r.nodeWorkspace(i), i)
	in.Budget = r.s.remaining(i)
	r.taskBytes += r.startBytes(in)
	f := workflow.ExecuteActivity(actCtx, activities.ExecuteNodeName, in)
	sel.AddFuture(f, func(f workflow.Future) {
		var res run.NodeResult
		err := f.Get(ctx, &res)
		now := workflow.Now(ctx)
		switch {
		case err == nil:
			r.s.complete(i, res, now)
		case temporal.IsCanceledError(err):
			r.s.cancelled(i, now)
		default:
			msg, errType, attempts := describeFailure(err, d)
			if r.budgetStopped(i, err, errType, msg) {
				break
			}
			r.s.fail(i, msg, errType, attempts, now)
		}
	})
}

// nodeInput is the activity input of node d working on ws (nil outside a
// workspace run), with the outputs of the dependencies of node dependent
// (-1 for none). It leaves out what the activity has without it, to keep
// history small: the workflow ID (in the activity's info), the node's
// dependency list (their outputs come in Inputs), and for a node whose
// executor uses nothing of the run (dag.Executor.Standalone) the pipeline's
// name, params and dependency outputs.
func (r *execution) nodeInput(d dag.Node, ws *run.NodeWorkspace, dependent int) run.NodeInput {
	d.DependsOn = nil
	if d.Executor.Standalone() {
		return run.NodeInput{Node: d, Workspace: ws}
	}
	in := run.NodeInput{
		Pipeline:  r.p.Name,
		Node:      d,
		Params:    r.p.Params,
		Workspace: ws,
	}
	if dependent >= 0 {
		in.Inputs, in.Artifacts = r.s.inputs(dependent)
	}
	return in
}

// finish settles the final states, and returns the result or the run's
// error.
func (r *execution) finish(ctx workflow.Context) (*run.Status, error) {
	if r.ws != nil && r.s.stopping == "" && r.s.count(run.NodeCompleted) == len(r.p.Nodes) {
		// Every node completed: the run completes once its branch is
		// pushed (until then it shows running).
		r.finishWorkspace(ctx)
	}
	state := r.s.finish()
	now := workflow.Now(ctx)
	r.ended = &now
	r.publish(ctx)
	recordRunFinished(ctx, r.in.Template, string(state))
	st := r.snapshot()
	r.memoUsage(ctx, st.Usage)
	// The result holds many nodes compressed: it is recorded in history
	// (the status query still answers them whole).
	if err := st.Compact(); err != nil {
		r.logger.Warn("cannot compact the result; it is recorded whole", "error", err)
	}
	switch state {
	case run.Completed:
		return st, nil
	case run.Cancelled:
		return nil, temporal.NewCanceledError(st)
	case run.TimedOut:
		return nil, temporal.NewNonRetryableApplicationError(st.Error, ErrTypePipelineTimedOut, nil, st)
	default:
		return nil, temporal.NewNonRetryableApplicationError(st.Error, ErrTypePipelineFailed, nil, st)
	}
}
