package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/maestrohq/maestro/run"
)

// Event types Watch sends.
const (
	EventSnapshot      = "snapshot"
	EventNodeStarted   = "node_started"
	EventNodeRetrying  = "node_retrying"
	EventNodeProgress  = "node_progress"
	EventNodeRepairing = "node_repairing" // a repair round started: Round, and Error the end of the failure's output
	EventNodeCompleted = "node_completed"
	EventNodeFailed    = "node_failed"
	EventNodeSkipped   = "node_skipped"
	EventNodeCancelled = "node_cancelled"
	// EventNodeWaitingBudget: an agent node waits for the run's budget to
	// be extended (maestro budget); it starts again with node_started.
	EventNodeWaitingBudget = "node_waiting_budget"
	EventRunPaused         = "run_paused"
	EventRunResumed        = "run_resumed"
	EventRunFinished       = "run_finished"
	EventError             = "error"
)

// Event is one event of a run, as Watch sends it (and the REST API's event
// stream forwards it). The first is a snapshot with the whole run; node
// events follow in the order they happened; the last is run_finished with the
// final run.
type Event struct {
	Type string `json:"type"`
	// Seq numbers the watch's events from 1.
	Seq        int    `json:"seq"`
	WorkflowID string `json:"workflow_id"`
	// Node, NodeStatus, Attempts, Error and At describe a node event; At
	// is when the node started or ended (the time of observation for
	// node_retrying and run events).
	Node       string        `json:"node,omitempty"`
	NodeStatus run.NodeState `json:"node_status,omitempty"`
	Attempts   int32         `json:"attempts,omitempty"`
	Error      string        `json:"error,omitempty"`
	// Round is the repair round of a node_repairing event.
	Round int        `json:"round,omitempty"`
	At    *time.Time `json:"at,omitempty"`
	// Status is the run's state (every event).
	Status run.State `json:"status"`
	// Run is the whole run, in snapshot and run_finished events.
	Run *run.Status `json:"run,omitempty"`
	// Progress is what a running node is doing, in node_progress events.
	Progress *run.Progress `json:"progress,omitempty"`
}

// ErrNoWorkerAnswer marks a status read that timed out: the run exists but
// no worker answered its status query in time.
var ErrNoWorkerAnswer = errors.New("no worker answered the run's status query in time")

// Defaults of WatchOptions.
const (
	DefaultWatchPollInterval = time.Second
	DefaultWatchQueryTimeout = 10 * time.Second
)

// WatchOptions tune Watch.
type WatchOptions struct {
	// PollInterval is how often the run's state is re-read while its
	// history is quiet (node retries add no history events); 0 means
	// DefaultWatchPollInterval.
	PollInterval time.Duration
	// QueryTimeout bounds each read of the run's state; 0 means
	// DefaultWatchQueryTimeout.
	QueryTimeout time.Duration
	// OnError, when set, is told of a state read that failed while
	// watching; Watch retries on the next tick.
	OnError func(error)
}

// Watch follows a run: it reads its state (an unknown run is ErrNotFound, a
// status query nobody answers in time ErrNoWorkerAnswer, both returned at
// once), then sends on the channel a snapshot, the node and run events as
// they happen, and run_finished with the final state, and closes the
// channel. It wakes on every new history event (a long poll) and at least
// every PollInterval. The channel is also closed when ctx ends; the
// receiver must keep receiving until it is closed, or cancel ctx.
func (s *Service) Watch(ctx context.Context, workflowID string, opts WatchOptions) (<-chan Event, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultWatchPollInterval
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = DefaultWatchQueryTimeout
	}
	qctx, cancel := context.WithTimeout(ctx, opts.QueryTimeout)
	first, err := s.Status(qctx, workflowID)
	timedOut := errors.Is(qctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	if err != nil {
		if timedOut && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: %s: %w", ErrNoWorkerAnswer, workflowID, err)
		}
		return nil, err
	}
	out := make(chan Event)
	go s.watch(ctx, workflowID, first, opts, out)
	return out, nil
}

func (s *Service) watch(ctx context.Context, workflowID string, prev *run.Status, opts WatchOptions, out chan<- Event) {
	defer close(out)
	seq := 0
	send := func(ev Event) bool {
		seq++
		ev.Seq = seq
		ev.WorkflowID = workflowID
		select {
		case out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	finish := func(final *run.Status) {
		at := final.EndedAt
		if at == nil {
			now := time.Now()
			at = &now
		}
		send(Event{Type: EventRunFinished, Status: final.Status, Error: final.Error, At: at, Run: final})
	}
	if !send(Event{Type: EventSnapshot, Status: prev.Status, Run: prev}) {
		return
	}
	if prev.Closed() {
		finish(prev)
		return
	}
	changed := make(chan struct{}, 1)
	follow := func(runID string) context.CancelFunc {
		wctx, stop := context.WithCancel(ctx)
		go s.watchHistory(wctx, workflowID, runID, changed)
		return stop
	}
	// A run that continues as new goes on under a new run ID: the watch
	// follows it.
	followed := prev.RunID
	stop := follow(followed)
	defer func() { stop() }()
	// The nodes of a run bigger than a Status holds are followed by
	// version: each read asks for the nodes changed since the last.
	beyond := &beyondStatus{version: prev.Version, seen: map[string]run.NodeStatus{}}
	poll := time.NewTicker(opts.PollInterval)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-poll.C:
		}
		qctx, qcancel := context.WithTimeout(ctx, opts.QueryTimeout)
		cur, err := s.Status(qctx, workflowID)
		qcancel()
		if err != nil {
			if ctx.Err() == nil && opts.OnError != nil {
				// Transient (a worker restarting, Temporal briefly
				// away): try again on the next tick.
				opts.OnError(err)
			}
			continue
		}
		evs := Diff(prev, cur, time.Now())
		if cur.NodesNextPageToken != "" {
			qctx, qcancel := context.WithTimeout(ctx, opts.QueryTimeout)
			more, err := s.changedBeyond(qctx, cur, beyond)
			qcancel()
			if err != nil && ctx.Err() == nil && opts.OnError != nil {
				opts.OnError(err) // read again from the same version next time
			}
			evs = append(evs, more...)
		}
		for _, ev := range evs {
			if !send(ev) {
				return
			}
		}
		prev = cur
		if cur.RunID != followed && cur.RunID != "" {
			stop()
			followed = cur.RunID
			stop = follow(followed)
		}
		if cur.Closed() {
			finish(cur)
			return
		}
	}
}

// beyondStatus is what a watch knows of the nodes past the first
// run.StatusNodes of a big run: the version it read them at, and the
// last state it saw of each that changed.
type beyondStatus struct {
	version int64
	seen    map[string]run.NodeStatus
}

// changedBeyond returns the events of the nodes past cur's that changed
// since b's version, page by page, and moves b on.
func (s *Service) changedBeyond(ctx context.Context, cur *run.Status, b *beyondStatus) ([]Event, error) {
	inStatus := make(map[string]bool, len(cur.Nodes))
	for _, n := range cur.Nodes {
		inStatus[n.ID] = true
	}
	q := run.NodesQuery{Since: b.version, PageSize: run.MaxNodesPage}
	var before, after run.Status
	version := b.version
	for {
		p, err := s.Nodes(ctx, cur.WorkflowID, q)
		if err != nil {
			return nil, err
		}
		if q.PageToken == "" {
			// The first page's version: later pages may be newer, and a
			// change between two pages is read again next time.
			version = max(version, p.Version)
		}
		for _, n := range p.Nodes {
			if inStatus[n.ID] {
				continue
			}
			if old, ok := b.seen[n.ID]; ok {
				before.Nodes = append(before.Nodes, old)
			}
			after.Nodes = append(after.Nodes, n)
		}
		if p.NextPageToken == "" {
			break
		}
		q.PageToken = p.NextPageToken
	}
	before.Status, after.Status = cur.Status, cur.Status
	evs := Diff(&before, &after, time.Now())
	for _, n := range after.Nodes {
		b.seen[n.ID] = run.NodeStatus{ID: n.ID, Status: n.Status, Attempts: n.Attempts, Repairs: n.Repairs, Progress: n.Progress}
	}
	b.version = version
	return evs, nil
}

// watchHistory long-polls the run's history and signals changed (without
// blocking) whenever events arrive, so that the watch re-reads the state at
// once instead of waiting for its next poll.
func (s *Service) watchHistory(ctx context.Context, workflowID, runID string, changed chan<- struct{}) {
	it := s.c.GetWorkflowHistory(ctx, workflowID, runID, true, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			return
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	select {
	case changed <- struct{}{}:
	default:
	}
}

// sameProgress reports whether two progress reports say the same.
func sameProgress(a, b *run.Progress) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Diff returns the events that lead from prev to cur, in the order they
// happened. A node that both started and ended between the two gives both
// events. Seq and WorkflowID are left for the caller.
func Diff(prev, cur *run.Status, now time.Time) []Event {
	var evs []Event
	byID := make(map[string]*run.NodeStatus, len(prev.Nodes))
	for i := range prev.Nodes {
		byID[prev.Nodes[i].ID] = &prev.Nodes[i]
	}
	for _, n := range cur.Nodes {
		before := run.NodeStatus{Status: run.NodePending}
		if p := byID[n.ID]; p != nil {
			before = *p
		}
		// The repair rounds that started since prev.
		var repairs []Event
		for _, r := range n.Repairs[min(len(before.Repairs), len(n.Repairs)):] {
			repairs = append(repairs, Event{Type: EventNodeRepairing, Node: n.ID, NodeStatus: run.NodeRunning,
				Attempts: n.Attempts, Error: r.OutputTail, Round: r.Round, At: &now})
		}
		if before.Status == n.Status {
			evs = append(evs, repairs...)
			// A retry has a last error; a command run again after a
			// repair is a new activity with none.
			if n.Status == run.NodeRunning && n.Attempts > before.Attempts && n.Attempts > 1 && n.LastError != "" {
				evs = append(evs, Event{Type: EventNodeRetrying, Node: n.ID, NodeStatus: n.Status,
					Attempts: n.Attempts, Error: n.LastError, At: &now})
			}
			if n.Status == run.NodeRunning && n.Progress != nil && !sameProgress(before.Progress, n.Progress) {
				evs = append(evs, Event{Type: EventNodeProgress, Node: n.ID, NodeStatus: n.Status,
					Attempts: n.Attempts, Progress: n.Progress, At: &now})
			}
			continue
		}
		if before.Status == run.NodePending && n.StartedAt != nil {
			evs = append(evs, Event{Type: EventNodeStarted, Node: n.ID, NodeStatus: run.NodeRunning, Attempts: 1, At: n.StartedAt})
			if n.Status == run.NodeRunning && n.Attempts > 1 && len(repairs) == 0 {
				evs = append(evs, Event{Type: EventNodeRetrying, Node: n.ID, NodeStatus: n.Status,
					Attempts: n.Attempts, Error: n.LastError, At: &now})
			}
		}
		evs = append(evs, repairs...)
		if before.Status == run.NodeWaitingBudget && n.Status == run.NodeRunning {
			evs = append(evs, Event{Type: EventNodeStarted, Node: n.ID, NodeStatus: n.Status, Attempts: n.Attempts, At: &now})
			continue
		}
		var typ string
		switch n.Status {
		case run.NodeWaitingBudget:
			evs = append(evs, Event{Type: EventNodeWaitingBudget, Node: n.ID, NodeStatus: n.Status, Attempts: n.Attempts, Error: n.LastError, At: &now})
			continue
		case run.NodeCompleted:
			typ = EventNodeCompleted
		case run.NodeFailed:
			typ = EventNodeFailed
		case run.NodeSkipped:
			typ = EventNodeSkipped
		case run.NodeCancelled:
			typ = EventNodeCancelled
		default:
			continue
		}
		at := n.EndedAt
		if at == nil {
			at = &now
		}
		evs = append(evs, Event{Type: typ, Node: n.ID, NodeStatus: n.Status, Attempts: n.Attempts, Error: n.Error, At: at})
	}
	// Order by time; events of one node keep their order (stable sort, and
	// a node's start is never after its end).
	slices.SortStableFunc(evs, func(a, b Event) int { return a.At.Compare(*b.At) })
	for i := range evs {
		evs[i].Status = cur.Status
	}
	switch {
	case cur.Status == run.Paused && prev.Status != run.Paused:
		evs = append(evs, Event{Type: EventRunPaused, Status: cur.Status, At: &now})
	case prev.Status == run.Paused && cur.Status == run.Running:
		evs = append(evs, Event{Type: EventRunResumed, Status: cur.Status, At: &now})
	}
	return evs
}
