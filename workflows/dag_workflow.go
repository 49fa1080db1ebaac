// Package workflows turns a validated pipeline DAG into one Temporal
// workflow: it schedules each node as an activity the moment its dependencies
// complete, keeps the node state table behind the status query, honours pause
// and resume signals, the failure policy, the whole-run timeout and
// cancellation, and carries completed work over when a failed run is retried.
// Everything here is deterministic workflow code.
package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
)

// Names that clients and the temporal CLI use.
const (
	// WorkflowName is the registered workflow type.
	WorkflowName = "DAGWorkflow"
	// DefaultTaskQueue is the task queue workers poll unless configured.
	DefaultTaskQueue = "maestro"
	// QueryStatus returns the run's Status.
	QueryStatus = "status"
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

// Input starts a run.
type Input struct {
	// Pipeline is the DAG to run; its Mode must be set (clients resolve the
	// configured default before starting).
	Pipeline dag.Pipeline `json:"pipeline"`
	// Template names the built-in template the pipeline came from, if any.
	Template string `json:"template,omitempty"`
	// Reuse holds results of nodes that completed in an earlier run; they
	// are marked completed and not executed again.
	Reuse map[string]activities.NodeResult `json:"reuse,omitempty"`
	// RetryOf is the workflow ID of the run this one retries.
	RetryOf string `json:"retry_of,omitempty"`
}

// Register registers the workflow on a worker.
func Register(r worker.WorkflowRegistry) {
	r.RegisterWorkflowWithOptions(DAGWorkflow, workflow.RegisterOptions{Name: WorkflowName})
}

// DAGWorkflow runs one pipeline. It returns the final Status when every node
// completed. Otherwise it fails with an application error of type
// PipelineFailed or PipelineTimedOut, or ends cancelled; either way the final
// Status is the error's details.
func DAGWorkflow(ctx workflow.Context, in Input) (*Status, error) {
	if err := in.Pipeline.Validate(); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeInvalidPipeline, nil)
	}
	r := newRun(ctx, in)
	recordRunStarted(ctx, in.Template)
	if err := workflow.SetQueryHandlerWithOptions(ctx, QueryStatus, func() (*Status, error) {
		return r.snapshot(), nil
	}, workflow.QueryHandlerOptions{Description: "The run's state and every node's state"}); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, ApproveName, r.approveUpdate, workflow.UpdateHandlerOptions{
		Validator:   func(a Approval) error { return r.checkApproval(a) },
		Description: "Approve or reject an approval node; returns the node's state",
	}); err != nil {
		return nil, err
	}
	return r.execute(ctx)
}

// node is the workflow's record of one pipeline node.
type node struct {
	def    dag.Node
	status NodeStatus
	result *activities.NodeResult // set when completed
	gate   *gate                  // set while an approval node waits
}

type run struct {
	in       Input
	p        dag.Pipeline
	nodes    []*node // declared order
	byID     map[string]*node
	order    []*node // the order candidates are considered in
	limit    int
	running  int
	paused   bool
	state    string // RunRunning until the end
	errMsg   string
	started  time.Time
	ended    *time.Time
	stopping string // "", RunFailed (fail_fast), RunTimedOut, RunCancelled
	logger   log.Logger
	info     *workflow.Info
	// indexed is the MaestroStatus search attribute's value, when the run
	// was started with it (runs started without it never set it).
	indexed string
	// approvals carries decisions from the approve update to the loop.
	approvals workflow.Channel
	// early holds decisions for approval nodes that are not waiting yet.
	early map[string]Approval
}

func newRun(ctx workflow.Context, in Input) *run {
	p := in.Pipeline
	if p.Mode == "" {
		p.Mode = dag.ModeDAGParallel
	}
	r := &run{
		in:      in,
		p:       p,
		byID:    make(map[string]*node, len(p.Nodes)),
		limit:   p.Parallelism(),
		state:   RunRunning,
		started: workflow.Now(ctx),
		logger:  workflow.GetLogger(ctx),
		info:    workflow.GetInfo(ctx),
	}
	r.approvals = workflow.NewBufferedChannel(ctx, 10)
	if v, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(SearchAttrStatus); ok {
		r.indexed = v
	}
	for _, d := range p.Nodes {
		n := &node{def: d, status: NodeStatus{
			ID: d.ID, Name: d.DisplayName(), Phase: d.Phase, Executor: d.Executor.Kind,
			DependsOn: append([]string{}, d.DependsOn...), Status: NodePending,
		}}
		if res, ok := in.Reuse[d.ID]; ok {
			res := res
			n.result = &res
			n.status.Status = NodeCompleted
			n.status.Reused = true
			n.status.Attempts = res.Attempt
			n.setOutput(res)
		}
		r.nodes = append(r.nodes, n)
		r.byID[d.ID] = n
	}
	for _, id := range p.Order(p.Mode) {
		r.order = append(r.order, r.byID[id])
	}
	return r
}

// execute is the scheduler loop.
func (r *run) execute(ctx workflow.Context) (*Status, error) {
	nodesCtx, cancelNodes := workflow.WithCancel(ctx)
	sel := workflow.NewSelector(ctx)

	// The run's own timer, so a timeout records every node's state instead
	// of the server cutting the run off.
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimerWithOptions(timerCtx, r.p.RunTimeout(), workflow.TimerOptions{Summary: "run timeout"})
	sel.AddFuture(timer, func(f workflow.Future) {
		err := f.Get(ctx, nil)
		switch {
		case err == nil:
			r.stop(RunTimedOut, fmt.Sprintf("run timed out after %s", r.p.RunTimeout()))
		case ctx.Err() != nil: // the workflow was cancelled, which cancels the timer
			r.stop(RunCancelled, "run cancelled")
		}
	})
	pauseCh := workflow.GetSignalChannel(ctx, SignalPause)
	resumeCh := workflow.GetSignalChannel(ctx, SignalResume)
	sel.AddReceive(pauseCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		if !r.paused {
			r.logger.Info("run paused")
		}
		r.paused = true
	})
	sel.AddReceive(resumeCh, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		if r.paused {
			r.logger.Info("run resumed")
		}
		r.paused = false
	})

	receiveApproval := func(c workflow.ReceiveChannel, _ bool) {
		var a Approval
		c.Receive(ctx, &a)
		r.receiveApproval(ctx, a)
	}
	sel.AddReceive(workflow.GetSignalChannel(ctx, ApproveName), receiveApproval)
	sel.AddReceive(r.approvals, receiveApproval)

	for {
		r.propagateSkips()
		if r.stopping == "" && !r.paused {
			r.startReady(ctx, nodesCtx, sel)
		}
		if r.stopping != "" {
			r.cancelApprovals(ctx) // they have nothing to wait for
		}
		r.publish(ctx)
		if r.running == 0 && (r.stopping != "" || r.allTerminal()) {
			break
		}
		if r.stopping != "" {
			cancelNodes() // idempotent; running nodes resolve as cancelled
		}
		sel.Select(ctx)
	}
	cancelNodes()
	return r.finish(ctx)
}

// stop records why the run is ending; the first reason wins.
func (r *run) stop(reason, msg string) {
	if r.stopping != "" {
		return
	}
	r.stopping = reason
	r.errMsg = msg
	r.logger.Warn("run stopping", "reason", reason, "message", msg)
}

// propagateSkips marks pending nodes whose dependencies can no longer
// complete. Declared order is not topological, so repeat until stable.
func (r *run) propagateSkips() {
	for changed := true; changed; {
		changed = false
		for _, n := range r.nodes {
			if n.status.Status != NodePending {
				continue
			}
			for _, dep := range n.def.DependsOn {
				switch d := r.byID[dep]; d.status.Status {
				case NodeFailed, NodeSkipped, NodeCancelled:
					n.status.Status = NodeSkipped
					n.status.Error = fmt.Sprintf("dependency %q %s", dep, d.status.Status)
					changed = true
				}
				if n.status.Status == NodeSkipped {
					break
				}
			}
		}
	}
}

func (r *run) ready(n *node) bool {
	if n.status.Status != NodePending {
		return false
	}
	for _, dep := range n.def.DependsOn {
		if r.byID[dep].status.Status != NodeCompleted {
			return false
		}
	}
	return true
}

func (r *run) allTerminal() bool {
	for _, n := range r.nodes {
		if !Terminal(n.status.Status) {
			return false
		}
	}
	return true
}

// startReady starts ready nodes in order while the parallelism allows.
func (r *run) startReady(ctx, nodesCtx workflow.Context, sel workflow.Selector) {
	for _, n := range r.order {
		if r.running >= r.limit {
			return
		}
		if r.ready(n) {
			r.start(ctx, nodesCtx, sel, n)
		}
	}
}

func (r *run) start(ctx, nodesCtx workflow.Context, sel workflow.Selector, n *node) {
	if n.def.Executor.Gate() {
		r.startApproval(ctx, nodesCtx, sel, n)
		return
	}
	d := n.def
	inputs := make(map[string]string, len(d.DependsOn))
	for _, dep := range d.DependsOn {
		inputs[dep] = r.byID[dep].result.Output
	}
	// A node reused from the retried run has its artifact filed under that
	// run; name it so the activity finds the full output.
	var refs map[string]string
	for _, dep := range d.DependsOn {
		if dn := r.byID[dep]; dn.status.Reused && dn.result.Artifact != "" {
			if refs == nil {
				refs = map[string]string{}
			}
			refs[dep] = dn.result.Artifact
		}
	}
	retry := &temporal.RetryPolicy{
		InitialInterval:    dag.DefaultInitialInterval,
		BackoffCoefficient: dag.DefaultBackoff,
		MaximumInterval:    dag.DefaultMaxInterval,
		MaximumAttempts:    dag.DefaultMaxAttempts,
	}
	if rp := d.Retry; rp != nil {
		retry.InitialInterval = rp.InitialInterval.Or(retry.InitialInterval)
		retry.MaximumInterval = rp.MaxInterval.Or(retry.MaximumInterval)
		if rp.Backoff >= 1 {
			retry.BackoffCoefficient = rp.Backoff
		}
		if rp.MaxAttempts > 0 {
			retry.MaximumAttempts = int32(rp.MaxAttempts)
		}
		retry.NonRetryableErrorTypes = rp.NonRetryable
	}
	retry.MaximumInterval = max(retry.MaximumInterval, retry.InitialInterval)
	actCtx := workflow.WithActivityOptions(nodesCtx, workflow.ActivityOptions{
		ActivityID:          d.ID,
		StartToCloseTimeout: d.Timeout.Or(r.p.RunTimeout()),
		HeartbeatTimeout:    d.HeartbeatTimeout.Or(dag.DefaultHeartbeatTimeout),
		WaitForCancellation: true,
		RetryPolicy:         retry,
		Summary:             summary(d),
	})
	f := workflow.ExecuteActivity(actCtx, activities.ExecuteNodeName, activities.NodeInput{
		WorkflowID: r.info.WorkflowExecution.ID,
		Pipeline:   r.p.Name,
		Node:       d,
		Params:     r.p.Params,
		Inputs:     inputs,
		Artifacts:  refs,
	})
	now := workflow.Now(ctx)
	n.status.Status = NodeRunning
	n.status.StartedAt = &now
	n.status.Attempts = 1
	r.running++
	sel.AddFuture(f, func(f workflow.Future) {
		r.running--
		var res activities.NodeResult
		r.complete(ctx, n, f.Get(ctx, &res), res)
	})
}

func summary(d dag.Node) string {
	phase := d.Phase
	if phase == "" {
		phase = "custom"
	}
	return fmt.Sprintf("%s [%s, %s]", d.DisplayName(), phase, d.Executor.Kind)
}

// complete records a node's outcome and applies the failure policy.
func (r *run) complete(ctx workflow.Context, n *node, err error, res activities.NodeResult) {
	now := workflow.Now(ctx)
	n.status.EndedAt = &now
	if err == nil {
		n.result = &res
		n.status.Status = NodeCompleted
		n.status.Attempts = max(res.Attempt, 1)
		n.setOutput(res)
		return
	}
	if temporal.IsCanceledError(err) {
		n.status.Status = NodeCancelled
		n.status.Error = "cancelled: " + r.errMsg
		if r.stopping == "" {
			n.status.Error = "cancelled"
		}
		return
	}
	n.status.Status = NodeFailed
	n.status.Error, n.status.ErrorType, n.status.Attempts = describeFailure(err, n.def)
	r.logger.Warn("node failed", "node", n.def.ID, "error", n.status.Error)
	if r.p.Policy() == dag.FailFast {
		r.stop(RunFailed, fmt.Sprintf("node %q failed: %s", n.def.ID, n.status.Error))
	}
}

// describeFailure turns an activity error into a message, an error type and
// the number of attempts made.
func describeFailure(err error, d dag.Node) (msg, errType string, attempts int32) {
	attempts = 1
	var actErr *temporal.ActivityError
	if errors.As(err, &actErr) && actErr.RetryState() == enumspb.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED {
		attempts = dag.DefaultMaxAttempts
		if d.Retry != nil && d.Retry.MaxAttempts > 0 {
			attempts = int32(d.Retry.MaxAttempts)
		}
	}
	var appErr *temporal.ApplicationError
	var timeoutErr *temporal.TimeoutError
	switch {
	case errors.As(err, &appErr):
		var f activities.Failure
		if appErr.HasDetails() && appErr.Details(&f) == nil && f.Attempt > 0 {
			attempts = f.Attempt
		}
		return appErr.Error(), appErr.Type(), attempts
	case errors.As(err, &timeoutErr):
		kind := strings.ToLower(strings.TrimPrefix(timeoutErr.TimeoutType().String(), "TIMEOUT_TYPE_"))
		return fmt.Sprintf("attempt timed out (%s)", strings.ReplaceAll(kind, "_", "-")), "Timeout", attempts
	case actErr != nil && errors.Unwrap(actErr) != nil:
		return errors.Unwrap(actErr).Error(), "", attempts
	default:
		return err.Error(), "", attempts
	}
}

func (n *node) setOutput(res activities.NodeResult) {
	out := res.Output
	n.status.OutputBytes = res.OutputBytes
	n.status.OutputTruncated = res.Truncated
	n.status.Usage = res.Usage
	if len(out) > OutputSummaryBytes {
		cut := OutputSummaryBytes
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = out[:cut] + "…"
		n.status.OutputTruncated = true
	}
	n.status.Output = out
}

// finish marks what never ran, and returns the result or the run's error.
func (r *run) finish(ctx workflow.Context) (*Status, error) {
	var failed []string
	for _, n := range r.nodes {
		switch n.status.Status {
		case NodePending:
			n.status.Status = NodeSkipped
			n.status.Error = "not started: " + r.errMsg
		case NodeFailed:
			failed = append(failed, n.def.ID)
		}
	}
	now := workflow.Now(ctx)
	r.ended = &now
	switch {
	case r.stopping == RunCancelled:
		r.state = RunCancelled
	case r.stopping == RunTimedOut:
		r.state = RunTimedOut
	case r.stopping == RunFailed:
		r.state = RunFailed
	case len(failed) > 0:
		r.state = RunFailed
		r.errMsg = fmt.Sprintf("%d node(s) failed: %s", len(failed), strings.Join(failed, ", "))
	default:
		r.state = RunCompleted
	}
	r.publish(ctx)
	recordRunFinished(ctx, r.in.Template, r.state)
	st := r.snapshot()
	switch r.state {
	case RunCompleted:
		return st, nil
	case RunCancelled:
		return nil, temporal.NewCanceledError(st)
	case RunTimedOut:
		return nil, temporal.NewNonRetryableApplicationError(r.errMsg, ErrTypePipelineTimedOut, nil, st)
	default:
		return nil, temporal.NewNonRetryableApplicationError(r.errMsg, ErrTypePipelineFailed, nil, st)
	}
}

// snapshot returns a copy of the run's state.
func (r *run) snapshot() *Status {
	st := &Status{
		WorkflowID:    r.info.WorkflowExecution.ID,
		RunID:         r.info.WorkflowExecution.RunID,
		Pipeline:      r.p.Name,
		Template:      r.in.Template,
		Mode:          r.p.Mode,
		FailurePolicy: r.p.Policy(),
		Status:        r.state,
		Error:         r.errMsg,
		StartedAt:     r.started,
		EndedAt:       r.ended,
		RetryOf:       r.in.RetryOf,
		TotalNodes:    len(r.nodes),
		Counts:        make(map[string]int, len(NodeStates)),
		Nodes:         make([]NodeStatus, len(r.nodes)),
	}
	if st.Status == RunRunning && r.paused {
		st.Status = RunPaused
	}
	for _, s := range NodeStates {
		st.Counts[s] = 0
	}
	for i, n := range r.nodes {
		st.Nodes[i] = n.status
		st.Counts[n.status.Status]++
	}
	st.CompletedNodes = st.Counts[NodeCompleted]
	st.Usage = totalUsage(st.Nodes)
	st.Simulated = simulated(r.in, r.nodes)
	return st
}

// publish shows progress in the Temporal Web UI's current details.
func (r *run) publish(ctx workflow.Context) {
	st := r.snapshot()
	var running []string
	for _, n := range r.nodes {
		if n.status.Status == NodeRunning {
			running = append(running, n.def.ID)
		}
	}
	details := fmt.Sprintf("**%s** — %s, %d/%d nodes completed", st.Pipeline, st.Status, st.CompletedNodes, st.TotalNodes)
	if len(running) > 0 {
		details += "; running: " + strings.Join(running, ", ")
	}
	if req, ok := r.p.Params["requirement"].(string); ok && req != "" {
		details += "\n\nRequirement: " + truncate(req, 300)
	}
	if st.Error != "" {
		details += "\n\n" + st.Error
	}
	workflow.SetCurrentDetails(ctx, details)
	r.index(ctx, st.Status)
}

// index keeps the MaestroStatus search attribute equal to the run's state, so
// that visibility queries can tell paused and timed-out runs apart.
func (r *run) index(ctx workflow.Context, state string) {
	if r.indexed == "" || r.indexed == state {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, SearchAttrStatus.ValueSet(state)); err != nil {
		r.logger.Warn("cannot update search attribute", "name", SearchAttrStatus.GetName(), "error", err)
		return
	}
	r.indexed = state
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
