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
	"go.temporal.io/api/workflowservice/v1"

	"github.com/maestrohq/maestro/workflows"
)

// ListFilter selects runs for List.
type ListFilter struct {
	// Status keeps runs in one state: running, completed, failed,
	// cancelled, terminated or timed_out; empty keeps all.
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
	// Status is the run state as Temporal records it (see List).
	Status    string     `json:"status"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
}

// listStatuses maps the filter words onto Temporal's execution statuses.
var listStatuses = map[string]string{
	workflows.RunRunning:    "Running",
	workflows.RunCompleted:  "Completed",
	workflows.RunFailed:     "Failed",
	workflows.RunCancelled:  "Canceled",
	workflows.RunTerminated: "Terminated",
	workflows.RunTimedOut:   "TimedOut",
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

// List returns one page of runs from Temporal's visibility store, newest
// first as the store orders them, and the token of the next page (nil on the
// last page).
//
// Statuses are Temporal's, translated to the run-state words, so they can
// differ from the exact state that Status reports: a paused run is running
// here, and a run that hit its own pipeline timeout ended as a Failed
// workflow, so it is failed here and timed_out in Status (timed_out here
// means the server's safety-net execution timeout cut the run off).
// Visibility is eventually consistent: a run started a moment ago may be
// missing or show an earlier state.
func (s *Service) List(ctx context.Context, f ListFilter) ([]RunSummary, []byte, error) {
	query := fmt.Sprintf("WorkflowType = '%s'", workflows.WorkflowName)
	if f.Status != "" {
		st, ok := listStatuses[strings.ToLower(strings.TrimSpace(f.Status))]
		if !ok {
			return nil, nil, fmt.Errorf("%w: unknown status %q (want one of %s)", ErrInvalidRequest, f.Status, strings.Join(ListStatuses(), ", "))
		}
		query += fmt.Sprintf(" AND ExecutionStatus = '%s'", st)
	}
	if t := strings.TrimSpace(f.Template); t != "" {
		if strings.ContainsFunc(t, unicode.IsControl) {
			return nil, nil, fmt.Errorf("%w: template must not contain control characters", ErrInvalidRequest)
		}
		query += fmt.Sprintf(" AND %s = %s", workflows.SearchAttrTemplate.GetName(), quoteQuery(t))
	}
	if f.PageSize < 0 {
		return nil, nil, fmt.Errorf("%w: page size must not be negative, got %d", ErrInvalidRequest, f.PageSize)
	}
	resp, err := s.c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		PageSize:      int32(min(f.PageSize, 1000)),
		NextPageToken: f.NextPageToken,
		Query:         query,
	})
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) && f.Template != "" {
		// The only attribute of ours in the query: not registered.
		return nil, nil, fmt.Errorf("%w: %s (register Maestro's search attributes; 'starter doctor' checks them)", ErrSearchAttributes, invalid.Message)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list runs: %w", err)
	}
	out := make([]RunSummary, 0, len(resp.GetExecutions()))
	for _, info := range resp.GetExecutions() {
		r := RunSummary{
			WorkflowID: info.GetExecution().GetWorkflowId(),
			RunID:      info.GetExecution().GetRunId(),
			Status:     runState(info.GetStatus()),
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
		out = append(out, r)
	}
	next := resp.GetNextPageToken()
	if len(next) == 0 {
		next = nil
	}
	return out, next, nil
}

// quoteQuery returns s as a string literal of Temporal's visibility query
// language: in single quotes, with backslashes and quotes escaped, so that a
// value can never change the query's structure.
func quoteQuery(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

// runState translates a Temporal execution status into a run-state word.
func runState(st enumspb.WorkflowExecutionStatus) string {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return workflows.RunRunning
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return workflows.RunCompleted
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return workflows.RunFailed
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return workflows.RunCancelled
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return workflows.RunTerminated
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return workflows.RunTimedOut
	case enumspb.WORKFLOW_EXECUTION_STATUS_PAUSED:
		return workflows.RunPaused
	}
	return strings.ToLower(strings.TrimPrefix(st.String(), "WORKFLOW_EXECUTION_STATUS_"))
}
