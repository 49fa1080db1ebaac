package runs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/workflows"
)

// ErrNotRewindable marks a rewind to a node the run cannot go back to: one
// that never started in it, was reused from the run it retries, or ran in an
// earlier part of a run that continued as new.
var ErrNotRewindable = errors.New("run cannot be rewound to that node")

// RewindOptions are a rewind's choices.
type RewindOptions struct {
	// KeepSignals re-applies the signals and updates (approvals, budget
	// decisions, pause and resume) the run received after the rewind
	// point; by default they are dropped, so that approval nodes that run
	// again wait for a new decision. A cancellation request is never
	// re-applied.
	KeepSignals bool
	// Reason is recorded in the run's history; empty gives one naming the
	// node.
	Reason string
}

// Rewound answers Rewind.
type Rewound struct {
	WorkflowID string `json:"workflow_id"`
	// RunID is the new run (the workflow ID stays); PreviousRunID is the
	// run that was rewound, which keeps its history.
	RunID         string `json:"run_id"`
	PreviousRunID string `json:"previous_run_id"`
	// To is the node the run was rewound to: it runs again.
	To string `json:"to"`
	// ResetEventID is the WorkflowTaskCompleted event of the previous run
	// the run was reset to: what happened after it happens again.
	ResetEventID int64 `json:"reset_event_id"`
	// Rerun lists the other nodes that run again (they had started after
	// the point, or had not finished by then) or had not started yet, in
	// the pipeline's order.
	Rerun []string `json:"rerun"`
	// Kept lists the nodes that finished before the point (or in an
	// earlier part, or in the run this one retries): they keep their
	// results and do not run again.
	Kept []string `json:"kept"`
	// SignalsAfter names the signals and updates the run received after
	// the point, in order (e.g. "approve"); KeepSignals says whether they
	// were re-applied.
	SignalsAfter []string `json:"signals_after"`
	KeepSignals  bool     `json:"keep_signals"`
	// Notes say what else the rewind did or could not do (the branch of
	// a workspace run).
	Notes []string `json:"notes,omitempty"`
}

// rewindHistory is what Rewind reads from a run's history.
type rewindHistory struct {
	in run.Input
	// carried is the state the run's earlier parts carried (nil in a first
	// part).
	carried *run.Carried
	// first and last are each node's first and last scheduled activity
	// event; closed is each scheduled event's close event.
	first, last map[string]int64
	closed      map[int64]int64
	// tasks are the completed workflow tasks, in order.
	tasks []workflowTask
	// signals are the signals and accepted updates, in order.
	signals []namedEvent
}

// workflowTask is a completed workflow task: its started event's ID and
// time, and its completed event's ID.
type workflowTask struct {
	started   int64
	at        time.Time
	completed int64
}

type namedEvent struct {
	id   int64
	name string
}

// Rewind resets a run to the point just before node to started, with
// Temporal's reset: the run (the same workflow ID, a new run ID) goes on
// from there, so to and every node that started after it (or had not
// finished by then) run again, while the nodes that finished before keep
// their results. It works on running and closed runs, within the run's
// current part: a node that ran in an earlier part of a run that continued
// as new cannot be rewound to.
//
// An unknown run is ErrNotFound; an unknown node a *FieldError naming "to";
// a node that never started in the run (or was reused from the run it
// retries, or ran in an earlier part), or one after the run's first step in
// a run whose timeout has passed, a *FieldError naming "to" wrapping
// ErrNotRewindable.
func (s *Service) Rewind(ctx context.Context, workflowID, to string, opts RewindOptions) (*Rewound, error) {
	if err := checkLookupID("id", workflowID); err != nil {
		return nil, err
	}
	to = strings.TrimSpace(to)
	switch {
	case to == "":
		return nil, &FieldError{Field: "to", Message: "give the node to rewind to"}
	case len(to) > dag.MaxIDLength:
		return nil, &FieldError{Field: "to", Message: fmt.Sprintf("longer than a node ID may be (%d characters)", dag.MaxIDLength)}
	}
	desc, err := s.c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil, MapNotFound(workflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	runID := info.GetExecution().GetRunId()
	h, err := s.rewindHistory(ctx, workflowID, runID)
	if err != nil {
		return nil, err
	}
	nodes := h.in.Pipeline.Nodes
	ids := make([]string, len(nodes))
	found := false
	for i, n := range nodes {
		ids[i] = n.ID
		found = found || n.ID == to
	}
	if !found {
		fe := &FieldError{Field: "to", Message: fmt.Sprintf("run %s has no node %q", workflowID, to)}
		if len(ids) <= 50 {
			fe.Allowed = ids
		}
		return nil, fe
	}
	refuse := func(format string, args ...any) error {
		return &FieldError{Field: "to", Message: fmt.Sprintf(format, args...), Err: ErrNotRewindable}
	}
	earlier := h.earlierNodes()
	if _, ok := h.in.Reuse[to]; ok {
		return nil, refuse("node %q did not run in %s: it was reused from %s, the run this one retries; rewind that run instead", to, workflowID, orUnknown(h.in.RetryOf))
	}
	if st, ok := earlier[to]; ok {
		return nil, refuse("node %q ran (%s) in an earlier part of %s, before the run continued as new to keep its history short; a rewind goes back only within the current part (part %d): rewind to a node that started in it, or retry the run",
			to, st, workflowID, h.carried.Part+1)
	}

	// The status gives when the nodes without an activity (approval
	// nodes) started and ended.
	var st *run.Status
	status := func() (*run.Status, error) {
		if st != nil {
			return st, nil
		}
		var err error
		if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			st, err = s.query(ctx, workflowID, runID)
		} else {
			st, err = s.closedStatus(ctx, workflowID, runID, info.GetStatus())
		}
		return st, err
	}

	// node finds a node's state: in the status, or, for a node past a big
	// run's first nodes, in its pages (read once).
	var rest map[string]run.NodeStatus
	node := func(id string) (*run.NodeStatus, error) {
		cur, err := status()
		if err != nil {
			return nil, err
		}
		if n := cur.Node(id); n != nil || cur.NodesNextPageToken == "" {
			return n, nil
		}
		if rest == nil {
			rest = map[string]run.NodeStatus{}
			q := run.NodesQuery{PageSize: run.MaxNodesPage, PageToken: cur.NodesNextPageToken}
			for q.PageToken != "" {
				p, err := s.Nodes(ctx, workflowID, q)
				if err != nil {
					return nil, err
				}
				for _, n := range p.Nodes {
					rest[n.ID] = n
				}
				q.PageToken = p.NextPageToken
			}
		}
		if n, ok := rest[id]; ok {
			return &n, nil
		}
		return nil, nil
	}

	var point workflowTask
	if sched, ok := h.first[to]; ok {
		point, ok = h.taskBefore(sched)
		if !ok {
			return nil, fmt.Errorf("rewind %s: no completed workflow task before node %q was scheduled (event %d)", workflowID, to, sched)
		}
	} else {
		n, err := node(to)
		if err != nil {
			return nil, err
		}
		if n == nil || n.StartedAt == nil {
			state := "not started"
			if n != nil {
				state = string(n.Status)
			}
			return nil, refuse("node %q never started in %s (it is %s): there is nothing to rewind to", to, workflowID, state)
		}
		var ok bool
		if point, ok = h.taskAt(*n.StartedAt); !ok {
			return nil, fmt.Errorf("rewind %s: no completed workflow task at %s, when node %q started", workflowID, n.StartedAt.Format(time.RFC3339Nano), to)
		}
	}

	// The run's own timeout counts from its start, which a rewind keeps
	// unless it goes back to the run's first workflow task.
	if first := h.carried == nil && point.completed == h.tasks[0].completed; !first {
		start := h.tasks[0].at
		if h.carried != nil {
			start = h.carried.StartedAt
		}
		if timeout := h.in.Pipeline.RunTimeout(); !time.Now().Before(start.Add(timeout)) {
			return nil, refuse("the run's timeout (%s from its start at %s) has passed: rewound to node %q, it would time out at once; rewind to a node that started with the run (its clock starts again then), or start the pipeline anew",
				timeout, start.UTC().Format(time.RFC3339), to)
		}
	}

	out := &Rewound{WorkflowID: workflowID, PreviousRunID: runID, To: to, ResetEventID: point.completed,
		KeepSignals: opts.KeepSignals, Rerun: []string{}, Kept: []string{}, SignalsAfter: []string{}}
	for i, id := range ids {
		if id == to {
			continue
		}
		if _, ok := h.in.Reuse[id]; ok {
			out.Kept = append(out.Kept, id)
			continue
		}
		if _, ok := earlier[id]; ok {
			out.Kept = append(out.Kept, id)
			continue
		}
		if last, ok := h.last[id]; ok {
			if h.first[id] > point.completed || h.closed[last] == 0 || h.closed[last] > point.completed {
				out.Rerun = append(out.Rerun, id)
			} else {
				out.Kept = append(out.Kept, id)
			}
			continue
		}
		// No activity in this part: a node that had not started (it
		// runs when its turn comes), or an approval node.
		if nodes[i].Executor.Kind != dag.KindApproval {
			out.Rerun = append(out.Rerun, id)
			continue
		}
		n, err := node(id)
		if err != nil {
			return nil, err
		}
		switch {
		case n == nil: // not known
		case n.StartedAt == nil || n.EndedAt == nil || !n.EndedAt.Before(point.at):
			out.Rerun = append(out.Rerun, id)
		default:
			out.Kept = append(out.Kept, id)
		}
	}
	for _, sig := range h.signals {
		if sig.id > point.completed {
			out.SignalsAfter = append(out.SignalsAfter, sig.name)
		}
	}

	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		cur, err := status()
		if err != nil {
			return nil, err
		}
		undo, note := s.rewindBranch(ctx, workflowID, cur.Workspace)
		if note != "" {
			out.Notes = append(out.Notes, note)
		}
		defer func() {
			if out.RunID == "" {
				undo()
			}
		}()
	}

	// Cancel requests are never re-applied by a reset.
	var exclude []enumspb.ResetReapplyExcludeType
	if !opts.KeepSignals {
		exclude = append(exclude, enumspb.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL, enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE)
	}
	reason := strings.TrimSpace(opts.Reason)
	if reason == "" {
		reason = "maestro rewind to " + to
	}
	resp, err := s.c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 s.namespace(),
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: workflowID, RunId: runID},
		Reason:                    oneLine(reason, 1000),
		WorkflowTaskFinishEventId: point.completed,
		RequestId:                 uuid.NewString(),
		ResetReapplyExcludeTypes:  exclude,
	})
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return nil, MapNotFound(workflowID, err)
		}
		return nil, fmt.Errorf("rewind %s to node %q (event %d): %w", workflowID, to, point.completed, err)
	}
	out.RunID = resp.GetRunId()
	return out, nil
}

// rewindBranch moves the branch a closed workspace run pushed (ws.Head)
// back to the run's start commit, so that the rewound run, whose head
// descends from it, can push its new head there as a fast-forward. It
// does so only when the branch still is the run's head: work others pushed
// is never overwritten. It returns what puts the branch back (if the reset
// fails) and a note for the answer.
func (s *Service) rewindBranch(ctx context.Context, workflowID string, ws *run.WorkspaceStatus) (undo func(), note string) {
	undo = func() {}
	if ws == nil || ws.Head == "" || ws.StartSHA == "" || ws.Branch == "" {
		return undo, ""
	}
	cannot := func(why string) string {
		return fmt.Sprintf("branch %s was not moved back (%s): unless the re-run nodes make the same commits, the rewound run will fail at its finish step without overwriting the branch; its work is in refs/maestro/%s/<node>", ws.Branch, why, dag.RefSafe(workflowID))
	}
	if s.cfg.Workspaces == nil {
		return undo, cannot("this process has no workspace directory")
	}
	m, err := s.cfg.Workspaces()
	if err != nil {
		return undo, cannot(err.Error())
	}
	ref := "refs/heads/" + ws.Branch
	cur, err := m.Resolve(ctx, ws.Repo, ref)
	if err != nil {
		return undo, cannot(err.Error())
	}
	if cur != ws.Head {
		return undo, cannot(fmt.Sprintf("it moved since the run pushed %s to it", short(ws.Head)))
	}
	if err := m.Push(ctx, ws.Repo, ws.StartSHA, ref); err != nil {
		return undo, cannot(err.Error())
	}
	undo = func() {
		if err := m.Push(context.WithoutCancel(ctx), ws.Repo, ws.Head, ref); err != nil {
			slog.WarnContext(ctx, "rewind failed and the branch could not be put back", "workflow_id", workflowID,
				"branch", ws.Branch, "head", ws.Head, "error", err)
		}
	}
	return undo, fmt.Sprintf("branch %s moved back from the run's head %s to its start commit %s; the rewound run pushes its new head there", ws.Branch, short(ws.Head), short(ws.StartSHA))
}

func short(sha string) string { return sha[:min(len(sha), 12)] }

// namespace is the service's Temporal namespace, "default" when not set.
func (s *Service) namespace() string {
	if s.cfg.Namespace == "" {
		return "default"
	}
	return s.cfg.Namespace
}

func orUnknown(s string) string {
	if s == "" {
		return "an earlier run"
	}
	return s
}

// rewindHistory reads what Rewind needs from one run's history.
func (s *Service) rewindHistory(ctx context.Context, workflowID, runID string) (*rewindHistory, error) {
	h := &rewindHistory{first: map[string]int64{}, last: map[string]int64{}, closed: map[int64]int64{}}
	var started *workflowTask
	it := s.c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, MapNotFound(workflowID, err)
		}
		id := ev.GetEventId()
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
			if err := s.cfg.DataConverter.FromPayloads(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &h.in); err != nil {
				return nil, fmt.Errorf("decode input of %s: %w", workflowID, err)
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			started = &workflowTask{started: id, at: ev.GetEventTime().AsTime()}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			if started != nil {
				started.completed = id
				h.tasks = append(h.tasks, *started)
				started = nil
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			node, _ := workflows.NodeOfActivity(ev.GetActivityTaskScheduledEventAttributes().GetActivityId())
			if _, ok := h.first[node]; !ok {
				h.first[node] = id
			}
			h.last[node] = id
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			h.closed[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()] = id
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
			h.closed[ev.GetActivityTaskFailedEventAttributes().GetScheduledEventId()] = id
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
			h.closed[ev.GetActivityTaskTimedOutEventAttributes().GetScheduledEventId()] = id
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
			h.closed[ev.GetActivityTaskCanceledEventAttributes().GetScheduledEventId()] = id
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			h.signals = append(h.signals, namedEvent{id, ev.GetWorkflowExecutionSignaledEventAttributes().GetSignalName()})
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			h.signals = append(h.signals, namedEvent{id, ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName()})
		}
	}
	in, carried, err := run.Open(h.in)
	if err != nil {
		return nil, fmt.Errorf("decode the carried state of %s: %w", workflowID, err)
	}
	h.in, h.carried = in, carried
	return h, nil
}

// earlierNodes returns the nodes that left pending in earlier parts of the
// run, with their state then.
func (h *rewindHistory) earlierNodes() map[string]run.NodeState {
	out := map[string]run.NodeState{}
	if h.carried == nil {
		return out
	}
	for _, cn := range h.carried.Nodes {
		if cn.Index >= 0 && cn.Index < len(h.in.Pipeline.Nodes) && cn.State != run.NodePending {
			out[h.in.Pipeline.Nodes[cn.Index].ID] = cn.State
		}
	}
	return out
}

// taskBefore is the last workflow task completed before event id: the one
// whose commands include it.
func (h *rewindHistory) taskBefore(id int64) (workflowTask, bool) {
	var t workflowTask
	ok := false
	for _, wt := range h.tasks {
		if wt.completed > id {
			break
		}
		t, ok = wt, true
	}
	return t, ok
}

// taskAt is the workflow task that ran at time at (the workflow's clock is
// its task's start time): the first one started then, or else the last one
// started before.
func (h *rewindHistory) taskAt(at time.Time) (workflowTask, bool) {
	var t workflowTask
	ok := false
	for _, wt := range h.tasks {
		if wt.at.Equal(at) {
			return wt, true
		}
		if wt.at.After(at) {
			break
		}
		t, ok = wt, true
	}
	return t, ok
}
