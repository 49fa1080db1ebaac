package workflows_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/bench"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/testenv"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
	"github.com/maestrohq/maestro/workflows"
)

var record = flag.Bool("record", false, "record the replay histories in testdata/histories from a real server")

const historiesDir = "testdata/histories"

// TestReplayRecordedHistories replays histories recorded by earlier versions
// of DAGWorkflow: those in testdata/histories by the code before any
// GetVersion patch, those in each testdata/histories/<hash> by the code
// whose workflows.WorkflowCodeVersion hash names the directory. A change
// that makes the workflow issue different commands for the same history
// fails here: guard it with workflow.GetVersion. Long histories are
// stored gzip-compressed (.json.gz).
func TestReplayRecordedHistories(t *testing.T) {
	var files []string
	for _, pattern := range []string{"*.json", "*/*.json", "*/*.json.gz"} {
		more, err := filepath.Glob(filepath.Join(historiesDir, pattern))
		require.NoError(t, err)
		files = append(files, more...)
	}
	require.NotEmpty(t, files, "no recorded histories; run go test ./workflows -run TestRecordHistories -record")
	for _, f := range files {
		name, _ := filepath.Rel(historiesDir, f)
		t.Run(name, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			workflows.Register(r)
			require.NoError(t, r.ReplayWorkflowHistory(nil, readHistory(t, f)))
		})
	}
}

// readHistory reads a recorded history, gunzipping a .json.gz one.
func readHistory(t *testing.T, path string) *historypb.History {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		require.NoError(t, err)
		var out bytes.Buffer
		_, err = out.ReadFrom(zr)
		require.NoError(t, err)
		data = out.Bytes()
	}
	h, err := client.HistoryFromJSON(bytes.NewReader(data), client.HistoryJSONOptions{})
	require.NoError(t, err)
	return h
}

// TestRecordHistories runs one scenario per workflow path on the real server
// and writes their histories for TestReplayRecordedHistories (see
// writeHistory). It only runs with -record.
func TestRecordHistories(t *testing.T) {
	if !*record {
		t.Skip("run with -record to record histories")
	}
	ctx := context.Background()
	sdlc, err := templates.Build(templates.SDLCParallel, "Build a todo app")
	require.NoError(t, err)
	withContinue := pipeline("continue", dag.ModeDAGParallel, failing("bad"), noop("good", 0), noop("after-bad", 0, "bad"), noop("after-good", 0, "good"))
	withContinue.FailurePolicy = dag.Continue
	slow := noop("slow", 30*time.Second)
	slow.HeartbeatTimeout = "2s"
	flaky := noop("flaky", 0)
	flaky.Executor.Spec.(*dag.NoopSpec).FailAttempts = 1
	flaky.Retry = &dag.Retry{InitialInterval: "50ms"}
	slowest := noop("slow", 30*time.Second)
	slowest.HeartbeatTimeout = "500ms" // under the run's timeout
	timedOut := pipeline("timeout", dag.ModeDAGParallel, noop("quick", 0), slowest, noop("next", 0, "slow"))
	timedOut.Timeout = "1s"

	scenarios := []struct {
		name    string
		req     runs.StartRequest
		control func(e *envT, id string)
	}{
		{name: "sdlc_parallel_completed", req: runs.StartRequest{DAG: sdlc}},
		{name: "sdlc_linear_completed", req: runs.StartRequest{Template: templates.SDLCLinear, Requirement: "x"}},
		{name: "retry_then_success", req: runs.StartRequest{DAG: pipeline("flaky", dag.ModeDAGLinear, flaky, noop("after", 0, "flaky"))}},
		{name: "continue_with_failure", req: runs.StartRequest{DAG: withContinue}},
		{name: "fail_fast_cancels", req: runs.StartRequest{DAG: pipeline("failfast", dag.ModeDAGParallel, failing("bad"), slow, noop("after", 0, "bad"))}},
		{name: "timed_out", req: runs.StartRequest{DAG: timedOut}},
		{name: "cancelled", req: runs.StartRequest{DAG: pipeline("cancel", dag.ModeDAGParallel, slow, noop("after", 0, "slow"))},
			control: func(e *envT, id string) {
				waitFor(e.t, e.Env, id, "slow running", nodeState("slow", run.NodeRunning))
				require.NoError(e.t, e.Runs.Cancel(ctx, id))
			}},
		{name: "approval_approved", req: runs.StartRequest{DAG: gated(gateNode("gate", "", "", "build"))},
			control: func(e *envT, id string) {
				waitFor(e.t, e.Env, id, "gate waiting", nodeState("gate", run.NodeWaitingApproval))
				_, err := e.Runs.Approve(ctx, id, run.Approval{Node: "gate", Approved: true, By: "ana"})
				require.NoError(e.t, err)
			}},
		{name: "approval_timed_out", req: runs.StartRequest{DAG: gated(gateNode("gate", "200ms", ""))}},
		{name: "paused_resumed", req: runs.StartRequest{DAG: pipeline("pause", dag.ModeDAGParallel, noop("first", 500*time.Millisecond), noop("second", 0, "first"))},
			control: func(e *envT, id string) {
				waitFor(e.t, e.Env, id, "first running", nodeState("first", run.NodeRunning))
				require.NoError(e.t, e.Runs.Pause(ctx, id))
				waitFor(e.t, e.Env, id, "first completed", nodeState("first", run.NodeCompleted))
				require.NoError(e.t, e.Runs.Resume(ctx, id))
			}},
	}
	t.Run("continued_as_new", func(t *testing.T) {
		// Enough no-op nodes that the run's first part passes carryEvents
		// and continues as new once; both parts are recorded.
		e := server.New(t)
		started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: bench.Layered("carry", 2400, 100, 100)})
		require.NoError(t, err)
		st, err := e.Runs.Wait(ctx, started.WorkflowID)
		require.NoError(t, err)
		require.Equal(t, run.Completed, st.Status, st.Error)
		require.NotEqual(t, started.RunID, st.RunID, "the run did not continue as new")
		writeRunHistory(t, started.WorkflowID, started.RunID, "continued_as_new_part1")
		writeRunHistory(t, started.WorkflowID, "", "continued_as_new_part2")
	})
	t.Run("big_inputs_batched", func(t *testing.T) {
		// Node inputs that pass what one workflow task may schedule start
		// over several tasks (versionBatchStarts).
		e := server.New(t)
		started, err := e.Runs.Start(ctx, runs.StartRequest{DAG: bigInputs(40)})
		require.NoError(t, err)
		st, err := e.Runs.Wait(ctx, started.WorkflowID)
		require.NoError(t, err)
		require.Equal(t, run.Completed, st.Status, st.Error)
		_, batched := batchCounts(t, started.WorkflowID)
		require.True(t, batched)
		writeHistory(t, started.WorkflowID, "big_inputs_batched")
	})
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e := &envT{Env: server.New(t), t: t}
			started, err := e.Runs.Start(ctx, sc.req)
			require.NoError(t, err)
			if sc.control != nil {
				sc.control(e, started.WorkflowID)
			}
			_, err = e.Runs.Wait(ctx, started.WorkflowID)
			require.NoError(t, err)
			if sc.name == "continue_with_failure" {
				// Also record a retry that reuses completed nodes.
				retried, err := e.Runs.Retry(ctx, started.WorkflowID)
				require.NoError(t, err)
				_, err = e.Runs.Wait(ctx, retried.WorkflowID)
				require.NoError(t, err)
				writeHistory(t, retried.WorkflowID, "retry_reuses_completed")
			}
			writeHistory(t, started.WorkflowID, sc.name)
		})
	}
}

type envT struct {
	*testenv.Env
	t *testing.T
}

// writeHistory writes the history of workflowID's latest run (see
// writeRunHistory).
func writeHistory(t *testing.T, workflowID, name string) {
	t.Helper()
	writeRunHistory(t, workflowID, "", name)
}

// longHistory and bigHistory are the number of events and of bytes past
// which a recorded history is stored gzip-compressed.
const (
	longHistory = 1000
	bigHistory  = 256 << 10
)

// writeRunHistory writes the history of one run of workflowID (runID ""
// for the latest) as testdata/histories/<hash of this code's
// WorkflowCodeVersion>/<name>.json, or .json.gz past longHistory events or
// bigHistory bytes:
// each version of the workflow code adds its own generation, and a history
// already recorded is never replaced (remove it to record it again).
func writeRunHistory(t *testing.T, workflowID, runID, name string) {
	t.Helper()
	dir := filepath.Join(historiesDir, workflows.WorkflowCodeVersion().Hash)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	it := server.Client.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, ev)
	}
	path := filepath.Join(dir, name+".json")
	b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	require.NoError(t, err)
	if len(hist.Events) > longHistory || len(b) > bigHistory {
		path = path + ".gz"
		b, err = temporalproto.CustomJSONMarshalOptions{}.Marshal(hist)
		require.NoError(t, err)
	}
	if strings.HasSuffix(path, ".gz") {
		var zb bytes.Buffer
		zw, err := gzip.NewWriterLevel(&zb, gzip.BestCompression)
		require.NoError(t, err)
		_, err = zw.Write(b)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		b = zb.Bytes()
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	require.NoError(t, err, "a history this code recorded is kept; remove it to record it again")
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}
