package runs

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/workflows"
)

// ListFilter selects runs for List.
type ListFilter struct {
	// Status keeps runs in one state (see ListStatuses): running, paused,
	// active (running or paused), completed, failed, cancelled,
	// terminated or timed_out; empty keeps all.
	Status string `json:"status,omitempty"`
	// Template keeps runs of one built-in template (the MaestroTemplate
	// search attribute); empty keeps all.
	Template string `json:"template,omitempty"`
	// PageSize caps the runs returned at once; 0 lets the server choose.
	PageSize int `json:"page_size,omitempty"`
	// NextPageToken continues a previous List.
	NextPageToken []byte `json:"next_page_token,omitempty"`
}

// RunSummary is one run as Temporal's visibility store knows it.
type RunSummary struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Pipeline   string `json:"pipeline"`
	Template   string `json:"template,omitempty"`
	// Requirement is the run's requirement (params.requirement), cut to
	// 1,000 bytes.
	Requirement string `json:"requirement,omitempty"`
	// Status is the run state (see List).
	Status    run.State  `json:"status"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// Usage is the tokens and cost of a finished run's agent nodes, when
	// it had any (recorded in its memo as it ended).
	Usage *run.Usage `json:"usage,omitempty"`
}

// StatusActive is the ListFilter.Status of runs that have not closed:
// running or paused.
const StatusActive = "active"

// statusAttr is the MaestroStatus search attribute's name.
var statusAttr = workflows.SearchAttrStatus.GetName()

// listStatuses maps the filter words onto visibility query clauses. A run's
// state is its MaestroStatus search attribute, which the workflow keeps equal
// to its state, where Temporal's execution status cannot tell (paused from
// running, a pipeline timeout from a failure); the attribute is absent on
// runs started before it existed, hence the IS NULL alternatives.
var listStatuses = map[string]string{
	string(run.Running):    fmt.Sprintf("ExecutionStatus = 'Running' AND (%[1]s IS NULL OR %[1]s != '%[2]s')", statusAttr, run.Paused),
	string(run.Paused):     fmt.Sprintf("ExecutionStatus = 'Running' AND %s = '%s'", statusAttr, run.Paused),
	StatusActive:           "ExecutionStatus = 'Running'",
	string(run.Completed):  "ExecutionStatus = 'Completed'",
	string(run.Failed):     fmt.Sprintf("ExecutionStatus = 'Failed' AND (%[1]s IS NULL OR %[1]s != '%[2]s')", statusAttr, run.TimedOut),
	string(run.Cancelled):  "ExecutionStatus = 'Canceled'",
	string(run.Terminated): "ExecutionStatus = 'Terminated'",
	string(run.TimedOut):   fmt.Sprintf("(ExecutionStatus = 'TimedOut' OR (ExecutionStatus = 'Failed' AND %s = '%s'))", statusAttr, run.TimedOut),
}

// ListStatuses returns the words ListFilter.Status accepts, sorted.
func ListStatuses() []string {
	out := make([]string, 0, len(listStatuses))
	for k := range listStatuses {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// orderByStart is the ORDER BY clause List asks for. Temporal's SQL
// visibility stores (SQLite, MySQL, PostgreSQL) refuse ORDER BY and order by
// close time (open runs first); Elasticsearch accepts it.
const orderByStart = " ORDER BY StartTime DESC"

// List returns one page of runs from Temporal's visibility store, newest
// started first, and the token of the next page (nil on the last page).
//
// The order: List asks the store for ORDER BY StartTime DESC. The SQL
// visibility stores (the dev server's SQLite among them) do not support it;
// List then remembers that, queries without it, and sorts each page by start
// time, newest first. Pages are then each in order, but a run can sit on a
// later page than one started before it, since the store pages by close time
// (open runs first).
//
// Status is the run state as Status reports it: the MaestroStatus search
// attribute the workflow keeps (running, paused, completed, failed,
// cancelled, timed_out) for runs that have not closed or that closed by
// themselves; Temporal's execution status for runs terminated or cut off by
// the server's safety-net execution timeout (terminated, timed_out), and for
// runs without the attribute. Visibility is eventually consistent: a run
// started a moment ago may be missing or show an earlier state.
//
// A workflow ID with several executions on a page (a run that was rewound,
// or continued as new) is listed once, as its current execution.
func (s *Service) List(ctx context.Context, f ListFilter) ([]RunSummary, []byte, error) {
	query := fmt.Sprintf("WorkflowType = '%s'", workflows.WorkflowName)
	ours := false // the query names one of Maestro's search attributes
	if f.Status != "" {
		clause, ok := listStatuses[strings.ToLower(strings.TrimSpace(f.Status))]
		if !ok {
			return nil, nil, &FieldError{Field: "status", Allowed: ListStatuses(),
				Message: fmt.Sprintf("unknown status %.100q (want one of %s)", f.Status, strings.Join(ListStatuses(), ", "))}
		}
		query += " AND " + clause
		ours = ours || strings.Contains(clause, statusAttr)
	}
	if t := strings.TrimSpace(f.Template); t != "" {
		if strings.ContainsFunc(t, unicode.IsControl) {
			return nil, nil, &FieldError{Field: "template", Message: "template must not contain control characters"}
		}
		query += fmt.Sprintf(" AND %s = %s", workflows.SearchAttrTemplate.GetName(), quoteQuery(t))
		ours = true
	}
	if f.PageSize < 0 {
		return nil, nil, &FieldError{Field: "page_size", Message: fmt.Sprintf("page size must not be negative, got %d", f.PageSize)}
	}
	list := func(q string) (*workflowservice.ListWorkflowExecutionsResponse, error) {
		return s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			PageSize:      int32(min(f.PageSize, 1000)),
			NextPageToken: f.NextPageToken,
			Query:         q,
		})
	}
	sorted := !s.noOrderBy.Load()
	var resp *workflowservice.ListWorkflowExecutionsResponse
	var err error
	if sorted {
		resp, err = list(query + orderByStart)
		var invalid *serviceerror.InvalidArgument
		if errors.As(err, &invalid) && strings.Contains(strings.ToUpper(invalid.Message), "ORDER BY") {
			s.noOrderBy.Store(true)
			sorted = false
		}
	}
	if !sorted {
		resp, err = list(query)
	}
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) && ours && len(f.NextPageToken) == 0 {
		// Our attributes are the only ones in the query that a namespace
		// may lack.
		return nil, nil, fmt.Errorf("%w: %s (register Maestro's search attributes; 'maestro doctor' checks them)", ErrSearchAttributes, invalid.Message)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list runs: %w", err)
	}
	out := make([]RunSummary, 0, len(resp.GetExecutions()))
	for _, info := range resp.GetExecutions() {
		r := RunSummary{
			WorkflowID: info.GetExecution().GetWorkflowId(),
			RunID:      info.GetExecution().GetRunId(),
			Status:     summaryState(info),
			StartedAt:  info.GetStartTime().AsTime(),
		}
		if ct := info.GetCloseTime(); ct != nil && info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t := ct.AsTime()
			r.EndedAt = &t
		}
		fields := info.GetMemo().GetFields()
		if p := fields["pipeline"]; p != nil {
			_ = s.cfg.DataConverter.FromPayload(p, &r.Pipeline)
		}
		if p := fields["template"]; p != nil {
			_ = s.cfg.DataConverter.FromPayload(p, &r.Template)
		}
		if p := fields["requirement"]; p != nil {
			_ = s.cfg.DataConverter.FromPayload(p, &r.Requirement)
		}
		if p := fields[workflows.MemoUsage]; p != nil {
			var u run.Usage
			if s.cfg.DataConverter.FromPayload(p, &u) == nil {
				r.Usage = &u
			}
		}
		out = append(out, r)
	}
	if !sorted {
		sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.After(out[j].StartedAt) })
	}
	out = latestRuns(out)
	next := resp.GetNextPageToken()
	if len(next) == 0 {
		next = nil
	}
	return out, next, nil
}

// latestRuns keeps one entry per workflow ID: a run that was rewound (reset)
// or continued as new has several executions, and the current one is the
// run. It prefers an open execution, then the one that closed last; the
// entry keeps the place of the workflow ID's first one. Executions of one ID
// on different pages are not merged.
func latestRuns(list []RunSummary) []RunSummary {
	at := make(map[string]int, len(list))
	out := list[:0]
	for _, r := range list {
		i, seen := at[r.WorkflowID]
		if !seen {
			at[r.WorkflowID] = len(out)
			out = append(out, r)
			continue
		}
		if later(r, out[i]) {
			out[i] = r
		}
	}
	return out
}

// later reports whether execution a is more current than b.
func later(a, b RunSummary) bool {
	switch {
	case a.EndedAt == nil:
		return b.EndedAt != nil || a.StartedAt.After(b.StartedAt)
	case b.EndedAt == nil:
		return false
	}
	return a.EndedAt.After(*b.EndedAt)
}

// summaryState is a run's state from its visibility record: the
// MaestroStatus search attribute where it is authoritative (see List),
// Temporal's execution status otherwise.
func summaryState(info *workflowpb.WorkflowExecutionInfo) run.State {
	exec := runState(info.GetStatus())
	var word string
	if p := info.GetSearchAttributes().GetIndexedFields()[statusAttr]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &word)
	}
	attr := run.State(word)
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		if attr == run.Paused {
			return attr
		}
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		switch attr {
		case run.Completed, run.Failed, run.Cancelled, run.TimedOut:
			return attr
		}
	}
	return exec
}

// quoteQuery returns s as a string literal of Temporal's visibility query
// language: in single quotes, with backslashes and quotes escaped, so that a
// value can never change the query's structure.
func quoteQuery(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

// runState translates a Temporal execution status into a run-state word.
func runState(st enumspb.WorkflowExecutionStatus) run.State {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return run.Running
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return run.Completed
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return run.Failed
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return run.Cancelled
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return run.Terminated
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return run.TimedOut
	case enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED:
		return run.Paused
	}
	return run.State(strings.ToLower(strings.TrimPrefix(st.String(), "WORKFLOW_EXECUTION_STATUS_")))
}
