package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// osGetenv is the default Config.Getenv.
func osGetenv(name string) string { return os.Getenv(name) }

// heartbeatEvery is heartbeatInterval; tests shorten it.
var heartbeatEvery = heartbeatInterval

// errTypeInternal marks an error that no executor classified; it should not
// happen and is retried.
const errTypeInternal = "ExecutorError"

// nodeError is an executor's failure before it becomes an ApplicationError.
type nodeError struct {
	typ          string
	nonRetryable bool
	msg          string
	failure      run.Failure
	nextDelay    time.Duration
}

func (e *nodeError) Error() string { return e.msg }

func configError(format string, args ...any) *nodeError {
	return &nodeError{typ: ErrTypeConfig, nonRetryable: true, msg: fmt.Sprintf(format, args...)}
}

// Executor runs the nodes of one executor kind.
type Executor interface {
	// Run runs one attempt of in.Node. It returns a *nodeError (see
	// configError) for a failure it classifies, and the context's error
	// when the attempt was cancelled or timed out.
	Run(ctx context.Context, a *Activities, in run.NodeInput) (run.NodeResult, error)
}

// executors registers the executor of every kind that runs as an activity
// (dag.Gate kinds run none). Adding a kind is its file and one line here.
var executors = map[string]Executor{
	dag.KindNoop:    noopExecutor{},
	dag.KindCommand: commandExecutor{},
	dag.KindHTTP:    httpExecutor{},
	dag.KindAgent:   agentExecutor{},
}

// specOf returns the node's executor spec as T, or a configuration error
// when the node's spec is of another kind.
func specOf[T dag.ExecutorSpec](in run.NodeInput) (T, error) {
	s, ok := dag.SpecOf[T](in.Node.Executor)
	if !ok {
		return s, configError("executor: the settings of node %q are not of kind %q", in.Node.ID, in.Node.Executor.Kind)
	}
	return s, nil
}

// ExecuteNode runs one attempt of a pipeline node with the executor its kind
// names. Failures are ApplicationErrors typed with the ErrType constants and
// carrying a run.Failure; a cancelled or timed-out attempt returns the context's
// error so that Temporal records a cancellation or a timeout.
func (a *Activities) ExecuteNode(ctx context.Context, in run.NodeInput) (run.NodeResult, error) {
	info := activity.GetInfo(ctx)
	if in.WorkflowID == "" {
		// The workflow leaves it out of the input (it is in every
		// activity's info) to keep history small.
		in.WorkflowID = info.WorkflowExecution.ID
	}
	attempt := info.Attempt
	kind := in.Node.Executor.Kind
	log := a.cfg.Logger.With(
		slog.String("workflow_id", in.WorkflowID),
		slog.String("node", in.Node.ID),
		slog.String("kind", kind),
		slog.Int("attempt", int(attempt)),
	)
	log.InfoContext(ctx, "node started")
	start := time.Now()
	ctx, state := withAttemptState(ctx)
	// A stopping worker ends the attempt after its stop timeout.
	runCtx, stopCancel := a.untilStopTimeout(ctx)
	defer stopCancel()
	// The attempt ends itself a little before Temporal would time it out,
	// so that a timeout counts against max_attempts like a failure the
	// executor reports (a crash does not), and its processes are stopped.
	if deadline := activity.GetInfo(ctx).Deadline; !deadline.IsZero() {
		margin := min(time.Second, time.Until(deadline)/10)
		var cancel context.CancelFunc
		runCtx, cancel = context.WithDeadline(runCtx, deadline.Add(-margin))
		defer cancel()
	}

	if in.Repair != nil {
		in = withRepairParams(in)
	}
	var res run.NodeResult
	var err error
	if denied := a.checkPolicy(in.Node); denied != nil {
		err = denied
	} else if x, ok := executors[kind]; ok {
		res, err = a.runExecutor(runCtx, x, in)
	} else if in.Node.Executor.Gate() {
		err = configError("executor kind %q runs no activity: the workflow decides it", kind)
	} else {
		err = configError("unknown executor kind %q (one of %s)", kind, strings.Join(dag.Kinds, ", "))
	}
	if err == nil {
		a.price(res.Usage)
		err = a.storeArtifact(ctx, in, &res)
	}
	took := time.Since(start)
	ctxErr := ctx.Err()
	if err != nil && stoppedByWorker(runCtx) {
		ctxErr = context.Canceled
	}
	recordAttempt(ctx, in.Node.Phase, kind, took, err, ctxErr)
	elapsed := slog.Duration("duration", took)

	if err == nil {
		res.Attempt = attempt
		attrs := []any{elapsed, slog.Int("output_bytes", res.OutputBytes), slog.Bool("truncated", res.Truncated)}
		if res.ExitCode != nil {
			attrs = append(attrs, slog.Int("exit_code", *res.ExitCode))
		}
		if res.HTTPStatus != 0 {
			attrs = append(attrs, slog.Int("http_status", res.HTTPStatus))
		}
		log.InfoContext(ctx, "node completed", attrs...)
		return res, nil
	}
	if stoppedByWorker(runCtx) {
		// Neither the node's failure nor a cancellation: the attempt runs
		// again elsewhere, and its failure count stays as it was.
		log.InfoContext(ctx, "node stopped: the worker is stopping; it runs again on another worker", elapsed)
		return run.NodeResult{}, workerStoppedError()
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		log.InfoContext(ctx, "node stopped", elapsed, slog.String("reason", ctxErr.Error()))
		return run.NodeResult{}, ctxErr
	}
	if errors.Is(runCtx.Err(), context.DeadlineExceeded) {
		err = &nodeError{typ: ErrTypeTimeout, msg: "attempt timed out (start-to-close)"}
	}

	var ne *nodeError
	if !errors.As(err, &ne) {
		ne = &nodeError{typ: errTypeInternal, msg: err.Error()}
	}
	// A failure the executor reports counts against max_attempts; the next
	// attempt reads the count from this heartbeat, which the SDK sends
	// before the failure. At max_attempts of them the node fails for good,
	// whatever attempts crashes cost.
	if state.failed() >= maxAttempts(in.Node) {
		ne.nonRetryable = true
	}
	recordHeartbeat(ctx)
	f := ne.failure
	f.Attempt = attempt
	a.price(f.Usage)
	// The message may quote stderr or a response body; only its type and
	// codes are logged.
	attrs := []any{elapsed, slog.String("error_type", ne.typ), slog.Bool("retryable", !ne.nonRetryable)}
	if f.ExitCode != nil {
		attrs = append(attrs, slog.Int("exit_code", *f.ExitCode))
	}
	if f.HTTPStatus != 0 {
		attrs = append(attrs, slog.Int("http_status", f.HTTPStatus))
	}
	if ne.nextDelay > 0 {
		attrs = append(attrs, slog.Duration("next_retry_delay", ne.nextDelay))
	}
	log.WarnContext(ctx, "node failed", attrs...)
	return run.NodeResult{}, temporal.NewApplicationErrorWithOptions(
		capText(ne.msg, a.cfg.MaxErrorBytes), ne.typ,
		temporal.ApplicationErrorOptions{
			NonRetryable:   ne.nonRetryable,
			Details:        []any{f},
			NextRetryDelay: ne.nextDelay,
		})
}

// withRepairParams returns the input of a repair agent with its failure in
// the params its prompts see, as .Params.repair (which hides a pipeline
// param of that name from them).
func withRepairParams(in run.NodeInput) run.NodeInput {
	params := make(map[string]any, len(in.Params)+1)
	maps.Copy(params, in.Params)
	params["repair"] = in.Repair.Params()
	in.Params = params
	return in
}

// output caps a node's output for history; head (the output's first bytes,
// up to captureBytes) is kept whole for the artifact store.
func (a *Activities) output(head []byte, total int) run.NodeResult {
	out, truncated := capHead(head, total, a.cfg.MaxOutputBytes)
	return run.NodeResult{Output: out, Truncated: truncated, OutputBytes: total, Full: head}
}

// heartbeat records a heartbeat every heartbeatEvery(ctx) until the returned
// function is called (which waits for the heartbeating goroutine to end).
func heartbeat(ctx context.Context) (stop func()) {
	every := heartbeatEvery(ctx)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				recordHeartbeat(ctx)
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}
