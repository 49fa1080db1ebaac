package runs

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/workflows"
)

// ErrStateUnavailable marks a closed run whose state could be read neither
// from its result, nor by replaying it, nor from its history.
var ErrStateUnavailable = errors.New("the run's state cannot be read")

// closeEvent is what a run's close event says of its end.
type closeEvent struct {
	at *time.Time
	// why is the terminate reason, the failure message, or a word on how
	// the run ended.
	why string
}

func closeEventOf(ev *historypb.HistoryEvent) closeEvent {
	var ce closeEvent
	if t := ev.GetEventTime(); t != nil {
		at := t.AsTime().UTC()
		ce.at = &at
	}
	switch {
	case ev.GetWorkflowExecutionTerminatedEventAttributes() != nil:
		ce.why = "terminated: " + ev.GetWorkflowExecutionTerminatedEventAttributes().GetReason()
	case ev.GetWorkflowExecutionTimedOutEventAttributes() != nil:
		ce.why = "timed out: the run reached its execution timeout"
	case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
		ce.why = ev.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetMessage()
	case ev.GetWorkflowExecutionCanceledEventAttributes() != nil:
		ce.why = "cancelled"
	}
	return ce
}

// closedState is closedStatus, and every node of the run when its status
// was built from its history (nil otherwise: the rest of a big run's nodes
// are read with the nodes query).
//
// A run that recorded its final status (completed, failed, cancelled, or
// timed out by its own timer) answers from it. A run that recorded none
// (terminated, timed out on the server's safety net, or closed before its
// first workflow task) is replayed with the status query when a workflow
// task of it completed; when none did, or the replay fails for a reason
// that is not transient, its status is built from its history: the start
// input's nodes, the states its activities' events show, the close event.
// Either way, the run state is what Temporal says and the end time and
// error are the close event's (see settle).
func (s *Service) closedState(ctx context.Context, workflowID, runID string, status enumspb.WorkflowExecutionStatus) (*run.Status, []run.NodeStatus, error) {
	it := s.c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	var st run.Status
	var ce closeEvent
	found := false
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, nil, MapNotFound(workflowID, err)
		}
		ce = closeEventOf(ev)
		if p := closePayloads(ev); p != nil {
			if err := s.cfg.DataConverter.FromPayloads(p, &st); err == nil && st.TotalNodes > 0 {
				found = true
			}
		}
	}
	if found {
		return &st, nil, nil
	}
	h, all, ran, err := s.historyStatus(ctx, workflowID, runID, true)
	if err != nil {
		return nil, nil, err
	}
	if ran {
		q, qerr := s.query(ctx, workflowID, runID)
		switch {
		case qerr == nil:
			settle(q, status, ce)
			return q, nil, nil
		case transient(ctx, qerr):
			return nil, nil, qerr
		}
		h, all, _, err = s.historyStatus(ctx, workflowID, runID, false)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: replaying it failed (%v), reading its history failed: %w", ErrStateUnavailable, workflowID, qerr, err)
		}
	}
	settle(h, status, ce)
	settleNodes(all, h.Status, h.Error, h.EndedAt)
	summarize(h, all)
	return h, all, nil
}

// transient reports whether err may pass on its own: the caller gave up,
// or Temporal or the workers did not answer in time.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	switch serviceerror.ToStatus(err).Code() {
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Canceled:
		return true
	}
	return false
}

// historyStatus builds a closed run's status from its history: its start
// input's nodes (pending), the nodes an earlier part carried, the nodes it
// reused, and the states its activities' events show (no outputs). With
// stopAtTask it stops at the first completed workflow task and reports ran
// (the run can be replayed; the status is nil then). Its Nodes are unset:
// all has every node. The run's state and end are left to settle.
func (s *Service) historyStatus(ctx context.Context, workflowID, runID string, stopAtTask bool) (st *run.Status, all []run.NodeStatus, ran bool, err error) {
	it := s.c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var in run.Input
	var startedAt time.Time
	var index map[string]int
	activity := map[int64]int{} // node index by scheduled event
	nodes := []run.NodeStatus(nil)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, nil, false, MapNotFound(workflowID, err)
		}
		at := ev.GetEventTime().AsTime().UTC()
		node := func(scheduled int64) *run.NodeStatus {
			if i, ok := activity[scheduled]; ok {
				return &nodes[i]
			}
			return nil
		}
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			startedAt = at
			if err := s.cfg.DataConverter.FromPayloads(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in); err != nil {
				return nil, nil, false, fmt.Errorf("%w: %s: decode its input: %w", ErrStateUnavailable, workflowID, err)
			}
			var carried *run.Carried
			if in, carried, err = run.Open(in); err != nil {
				return nil, nil, false, fmt.Errorf("%w: %s: decode its carried state: %w", ErrStateUnavailable, workflowID, err)
			}
			nodes = workflows.InitialNodes(in, carried)
			index = make(map[string]int, len(nodes))
			for i, n := range nodes {
				index[n.ID] = i
			}
			if carried != nil && !carried.StartedAt.IsZero() {
				startedAt = carried.StartedAt
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			if stopAtTask {
				return nil, nil, true, nil
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			id, own := workflows.NodeOfActivity(ev.GetActivityTaskScheduledEventAttributes().GetActivityId())
			if i, ok := index[id]; ok && own {
				activity[ev.GetEventId()] = i
				n := &nodes[i]
				n.Status, n.StartedAt, n.EndedAt, n.Error = run.NodeRunning, &at, nil, ""
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			if n := node(ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()); n != nil {
				n.Attempts = max(n.Attempts, ev.GetActivityTaskStartedEventAttributes().GetAttempt())
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			if n := node(ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()); n != nil {
				n.Status, n.EndedAt = run.NodeCompleted, &at
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			if n := node(ev.GetActivityTaskFailedEventAttributes().GetScheduledEventId()); n != nil {
				n.Status, n.EndedAt = run.NodeFailed, &at
				n.Error = ev.GetActivityTaskFailedEventAttributes().GetFailure().GetMessage()
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			if n := node(ev.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()); n != nil {
				n.Status, n.EndedAt = run.NodeFailed, &at
				n.Error = ev.GetActivityTaskTimedOutEventAttributes().GetFailure().GetMessage()
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
			if n := node(ev.GetActivityTaskCanceledEventAttributes().GetScheduledEventId()); n != nil {
				n.Status, n.EndedAt, n.Error = run.NodeCancelled, &at, "cancelled"
			}
		}
	}
	if nodes == nil && len(in.Pipeline.Nodes) == 0 {
		return nil, nil, false, fmt.Errorf("%w: %s: its history has no start input", ErrStateUnavailable, workflowID)
	}
	p := in.Pipeline
	if p.Mode == "" {
		p.Mode = dag.ModeDAGParallel
	}
	st = &run.Status{
		WorkflowID:    workflowID,
		RunID:         runID,
		Pipeline:      p.Name,
		Template:      in.Template,
		Mode:          p.Mode,
		FailurePolicy: p.Policy(),
		StartedAt:     startedAt,
		RetryOf:       in.RetryOf,
		TotalNodes:    len(nodes),
	}
	return st, nodes, false, nil
}

// settle makes a closed run's status say what Temporal says of its end: the
// run state of its close status, the close event's time as its end (when
// the status has none), the close event's reason as its error (when the
// status has none), and, unless it completed, no node left running, waiting
// or pending (see settleNodes). Its summary and counts follow.
func settle(st *run.Status, status enumspb.WorkflowExecutionStatus, ce closeEvent) {
	switch state := runState(status); state {
	case run.Completed, run.Failed, run.Cancelled, run.Terminated, run.TimedOut:
		st.Status = state
	}
	if st.EndedAt == nil {
		st.EndedAt = ce.at
	}
	if st.Error == "" {
		st.Error = ce.why
	}
	if st.Status == run.Completed {
		return
	}
	settleNodes(st.Nodes, st.Status, st.Error, st.EndedAt)
	if st.Counts != nil {
		// The counts cover nodes past the ones at hand too.
		c := st.Counts
		c[run.NodeCancelled] += c[run.NodeRunning] + c[run.NodeWaitingApproval] + c[run.NodeWaitingBudget]
		c[run.NodeSkipped] += c[run.NodePending]
		c[run.NodeRunning], c[run.NodeWaitingApproval], c[run.NodeWaitingBudget], c[run.NodePending] = 0, 0, 0, 0
	}
	st.Running, st.Waiting = nil, nil
}

// settleNodes ends the nodes a closed run left unfinished the way the
// workflow ends them when a run is cancelled: running and waiting nodes
// cancelled ("cancelled: why", ended at the run's end), pending nodes
// skipped ("not started: why"). Nodes of a completed run are left alone.
func settleNodes(nodes []run.NodeStatus, state run.State, why string, ended *time.Time) {
	if state == run.Completed {
		return
	}
	for i := range nodes {
		n := &nodes[i]
		switch n.Status {
		case run.NodeRunning, run.NodeWaitingApproval, run.NodeWaitingBudget:
			n.Status, n.Error, n.Progress = run.NodeCancelled, "cancelled: "+why, nil
			if n.EndedAt == nil {
				n.EndedAt = ended
			}
		case run.NodePending:
			n.Status, n.Error = run.NodeSkipped, "not started: "+why
		}
	}
}

// summarize sets st's counts and summary from all, every node of the run.
func summarize(st *run.Status, all []run.NodeStatus) {
	st.Counts = make(map[run.NodeState]int, len(run.NodeStates))
	for _, k := range run.NodeStates {
		st.Counts[k] = 0
	}
	st.Running, st.Waiting, st.Failed = nil, nil, nil
	for _, n := range all {
		st.Counts[n.Status]++
		switch {
		case n.Status == run.NodeRunning && len(st.Running) < run.SummaryIDs:
			st.Running = append(st.Running, n.ID)
		case (n.Status == run.NodeWaitingApproval || n.Status == run.NodeWaitingBudget) && len(st.Waiting) < run.SummaryIDs:
			st.Waiting = append(st.Waiting, n.ID)
		case n.Status == run.NodeFailed && len(st.Failed) < run.SummaryIDs:
			st.Failed = append(st.Failed, n.ID)
		}
	}
	st.CompletedNodes = st.Counts[run.NodeCompleted]
	st.TotalNodes = len(all)
	st.Nodes = all[:min(len(all), run.StatusNodes)]
	st.NodesNextPageToken = ""
	if len(all) > run.StatusNodes {
		st.NodesNextPageToken = run.PageTokenAt(run.StatusNodes)
	}
}
