package workflows_test

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/workflows"
)

// deployChange is the change ID of the "new workflow code" below.
const deployChange = "deploy-test-extra-step"

// guardedDAGWorkflow is DAGWorkflow with a change, done the way the
// repository's procedure says: an extra step (a side effect, which
// records a marker) guarded by workflow.GetVersion. Runs that started
// before it replay without it; new runs take it.
func guardedDAGWorkflow(ctx workflow.Context, in run.Input) (*run.Status, error) {
	if workflow.GetVersion(ctx, deployChange, workflow.DefaultVersion, 1) == 1 {
		extraStep(ctx)
	}
	return workflows.DAGWorkflow(ctx, in)
}

// unguardedDAGWorkflow is the same change without the guard.
func unguardedDAGWorkflow(ctx workflow.Context, in run.Input) (*run.Status, error) {
	extraStep(ctx)
	return workflows.DAGWorkflow(ctx, in)
}

func extraStep(ctx workflow.Context) {
	var v int
	_ = workflow.SideEffect(ctx, func(workflow.Context) any { return 1 }).Get(&v)
}

// startWorkerWith starts a worker on e's queue whose workflow (under
// Maestro's workflow name) is wf, with Maestro's activities; it stops when
// the test ends.
func startWorkerWith(t *testing.T, e *testenv.Env, wf func(workflow.Context, run.Input) (*run.Status, error)) worker.Worker {
	t.Helper()
	w := worker.New(e.Server.Client, e.TaskQueue, worker.Options{WorkerStopTimeout: 2 * time.Second})
	w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: workflows.WorkflowName})
	activities.Register(w, activities.New(activities.Config{
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}))
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return w
}

// historyOf returns the types of a run's events, and the messages of its
// failed workflow tasks.
func historyOf(t *testing.T, id, runID string) (markers []string, taskFailures []string) {
	t.Helper()
	it := server.Client.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if a := ev.GetMarkerRecordedEventAttributes(); a != nil {
			markers = append(markers, a.GetMarkerName())
		}
		if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
			taskFailures = append(taskFailures, enumspb.WorkflowTaskFailedCause_name[int32(a.GetCause())]+": "+a.GetFailure().GetMessage())
		}
	}
	return markers, taskFailures
}

// Deploying new workflow code with runs in flight, as the README's
// procedure does it: a run started on the old code waits at an approval
// gate; the old worker stops; a worker with the new code (a change guarded
// by workflow.GetVersion) takes over; the old run is approved and
// completes on the new worker with no workflow task failure, without the
// new step, while a run started now takes the new step. The same change
// without the guard makes the old run's workflow task fail with a
// non-determinism error, again and again, until a worker with code that
// replays it returns.
func TestDeployNewWorkflowCodeWithRunsInFlight(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	t.Run("guarded", func(t *testing.T) {
		e := server.New(t) // its worker runs the old code
		old, err := e.Runs.Start(ctx, runs.StartRequest{DAG: gated(gateNode("gate", "", "", "build"))})
		require.NoError(t, err)
		waitFor(t, e, old.WorkflowID, "gate waiting", nodeState("gate", run.NodeWaitingApproval))

		e.Worker.Stop()
		startWorkerWith(t, e, guardedDAGWorkflow)

		began := time.Now()
		_, err = e.Runs.Approve(ctx, old.WorkflowID, run.Approval{Node: "gate", Approved: true, By: "ops"})
		require.NoError(t, err)
		st, err := e.Runs.Wait(ctx, old.WorkflowID)
		require.NoError(t, err)
		require.Equal(t, run.Completed, st.Status, st.Error)
		t.Logf("the old run completed on the new worker %s after its approval", time.Since(began).Round(time.Millisecond))
		markers, failures := historyOf(t, old.WorkflowID, old.RunID)
		assert.Empty(t, failures, "the old run replays on the new code")
		assert.NotContains(t, markers, "SideEffect", "the old run does not take the new step")

		started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: gated(gateNode("gate", "", "", "build"))})
		require.NoError(t, err)
		waitFor(t, e, started.WorkflowID, "gate waiting", nodeState("gate", run.NodeWaitingApproval))
		_, err = e.Runs.Approve(ctx, started.WorkflowID, run.Approval{Node: "gate", Approved: true, By: "ops"})
		require.NoError(t, err)
		st, err = e.Runs.Wait(ctx, started.WorkflowID)
		require.NoError(t, err)
		require.Equal(t, run.Completed, st.Status, st.Error)
		markers, failures = historyOf(t, started.WorkflowID, started.RunID)
		assert.Empty(t, failures)
		assert.Contains(t, markers, "SideEffect", "a new run takes the new step")
	})

	t.Run("unguarded", func(t *testing.T) {
		e := server.New(t)
		old, err := e.Runs.Start(ctx, runs.StartRequest{DAG: gated(gateNode("gate", "", "", "build"))})
		require.NoError(t, err)
		waitFor(t, e, old.WorkflowID, "gate waiting", nodeState("gate", run.NodeWaitingApproval))

		e.Worker.Stop()
		// The run's next task goes to the normal queue at once, not first
		// to the stopped worker's sticky queue: a task that timed out there
		// makes the new worker's failures transient attempts, which the
		// history does not record.
		_, err = server.Client.WorkflowService().ResetStickyTaskQueue(ctx, &workflowservice.ResetStickyTaskQueueRequest{
			Namespace: server.Namespace(), Execution: &commonpb.WorkflowExecution{WorkflowId: old.WorkflowID, RunId: old.RunID}})
		require.NoError(t, err)
		bad := startWorkerWith(t, e, unguardedDAGWorkflow)
		// The approve signal (an update would wait for the broken task).
		require.NoError(t, e.Server.Client.SignalWorkflow(ctx, old.WorkflowID, "", workflows.ApproveName,
			map[string]any{"node": "gate", "approved": true, "by": "ops"}))
		began := time.Now()
		var failures []string
		deadline := time.Now().Add(20 * time.Second)
		for len(failures) == 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			_, failures = historyOf(t, old.WorkflowID, old.RunID)
		}
		require.NotEmpty(t, failures, "the old run's workflow task fails on the unguarded code")
		t.Logf("workflow task failure %s after the approval: %s", time.Since(began).Round(time.Millisecond), failures[0])
		assert.True(t, strings.HasPrefix(failures[0], "WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR"), failures[0])

		// Rolling back to code that replays it lets the run go on.
		bad.Stop()
		e.StartWorker(t)
		began = time.Now()
		st, err := e.Runs.Wait(ctx, old.WorkflowID)
		require.NoError(t, err)
		assert.Equal(t, run.Completed, st.Status, st.Error)
		t.Logf("the run completed %s after the old code was back", time.Since(began).Round(time.Millisecond))
	})
}
