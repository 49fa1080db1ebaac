package runs

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/workflows"
)

// Nodes returns a page of a run's nodes in declared order, optionally only
// those in one state: the way to read every node of a run bigger than a
// Status holds (run.StatusNodes). A running run answers from its nodes
// query, merged with the live attempts like Status; a closed one from its
// result when that holds every node, else from the query (which a worker
// answers by replaying the run's last part), or from its history when it
// closed before any workflow task ran (see closedState). A malformed query is a
// *FieldError naming status, page_size or page_token.
func (s *Service) Nodes(ctx context.Context, workflowID string, q run.NodesQuery) (*run.NodesPage, error) {
	if err := checkLookupID("id", workflowID); err != nil {
		return nil, err
	}
	var qe *run.QueryError
	if err := q.Check(); errors.As(err, &qe) {
		fe := &FieldError{Field: qe.Field, Message: qe.Message}
		if qe.Field == "status" {
			for _, st := range run.NodeStates {
				fe.Allowed = append(fe.Allowed, string(st))
			}
		}
		return nil, fe
	}
	desc, err := s.c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil, MapNotFound(workflowID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	runID := info.GetExecution().GetRunId()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		st, all, err := s.closedState(ctx, workflowID, runID, info.GetStatus())
		if err != nil {
			return nil, err
		}
		if all != nil {
			p := run.Page(all, q, nil)
			return &p, nil
		}
		if st.NodesNextPageToken == "" {
			p := run.Page(st.Nodes, q, nil)
			return &p, nil
		}
		if q.Status == "" {
			p, err := s.queryNodes(ctx, workflowID, runID, q)
			if err != nil {
				return nil, err
			}
			// A run that recorded no final state (terminated) leaves no
			// node unfinished; see settleNodes.
			settleNodes(p.Nodes, st.Status, st.Error, st.EndedAt)
			return p, nil
		}
		// Settling changes states: filter after it, over every node.
		nodes, err := s.allNodes(ctx, workflowID, runID)
		if err != nil {
			return nil, err
		}
		settleNodes(nodes, st.Status, st.Error, st.EndedAt)
		p := run.Page(nodes, q, nil)
		return &p, nil
	}
	p, err := s.queryNodes(ctx, workflowID, runID, q)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*run.NodeStatus, len(p.Nodes))
	for i := range p.Nodes {
		byID[p.Nodes[i].ID] = &p.Nodes[i]
	}
	s.mergePending(desc.GetPendingActivities(), func(id string) *run.NodeStatus { return byID[id] })
	return p, nil
}

// allNodes reads every node of a run (at most dag.MaxNodes) through the
// nodes query, page by page.
func (s *Service) allNodes(ctx context.Context, workflowID, runID string) ([]run.NodeStatus, error) {
	var all []run.NodeStatus
	q := run.NodesQuery{PageSize: run.MaxNodesPage}
	for {
		p, err := s.queryNodes(ctx, workflowID, runID, q)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Nodes...)
		if p.NextPageToken == "" {
			return all, nil
		}
		q.PageToken = p.NextPageToken
	}
}

func (s *Service) queryNodes(ctx context.Context, workflowID, runID string, q run.NodesQuery) (*run.NodesPage, error) {
	v, err := s.c.QueryWorkflow(ctx, workflowID, runID, workflows.QueryNodes, q)
	if err != nil {
		return nil, fmt.Errorf("query nodes of %s: %w", workflowID, err)
	}
	var p run.NodesPage
	if err := v.Get(&p); err != nil {
		return nil, fmt.Errorf("decode nodes of %s: %w", workflowID, err)
	}
	return &p, nil
}
