package run

import (
	"encoding/base64"
	"fmt"
	"strconv"
)

// Paging of a run's nodes. A Status carries every node of a run of up to
// StatusNodes nodes; a bigger run's Status carries the first StatusNodes (in
// declared order) and NodesNextPageToken, and the rest are read page by page
// (the workflow's nodes query, GET /api/workflows/{id}/nodes). That keeps
// the status query's answer and the run's result far below Temporal's 2 MB
// payload limit at any size (a node's state is about 300 bytes).
const (
	// StatusNodes is the most nodes a Status carries.
	StatusNodes = 1000
	// MaxNodesPage is the largest page of nodes; DefaultNodesPage is the
	// size of a page when none is asked for.
	MaxNodesPage     = 1000
	DefaultNodesPage = 500
	// SummaryIDs caps each list of node IDs in a Status's summary (Running,
	// Failed, Waiting); Counts has the totals.
	SummaryIDs = 50
)

// NodesQuery asks for a page of a run's nodes.
type NodesQuery struct {
	// Status keeps only the nodes in this state; empty keeps all.
	Status NodeState `json:"status,omitempty"`
	// PageToken continues from an earlier page (its NextPageToken).
	PageToken string `json:"page_token,omitempty"`
	// PageSize is the most nodes in the page (DefaultNodesPage when 0, at
	// most MaxNodesPage).
	PageSize int `json:"page_size,omitempty"`
	// Since keeps only the nodes that changed after this version of the
	// run (a Status's or an earlier page's Version): how a watch follows
	// the nodes a Status does not carry.
	Since int64 `json:"since,omitempty"`
}

// NodesPage is a page of a run's nodes, in declared order.
type NodesPage struct {
	Nodes []NodeStatus `json:"nodes"`
	// NextPageToken fetches the next page; empty on the last one.
	NextPageToken string `json:"next_page_token,omitempty"`
	// Total is the number of nodes that match the query, in all pages.
	Total int `json:"total"`
	// Version is the run's version when the page was read: it grows with
	// every change of a node's state.
	Version int64 `json:"version,omitempty"`
}

// QueryError is a malformed NodesQuery: Field names the bad field
// (status, since, page_size or page_token).
type QueryError struct {
	Field, Message string
}

// Error returns "field: message".
func (e *QueryError) Error() string { return e.Field + ": " + e.Message }

// Check says whether the query is well formed: nil, or a *QueryError.
func (q NodesQuery) Check() error {
	if q.Status != "" && !q.Status.Valid() {
		return &QueryError{"status", fmt.Sprintf("%q is not a node state (one of %v)", q.Status, NodeStates)}
	}
	if q.Since < 0 {
		return &QueryError{"since", fmt.Sprintf("must not be negative, got %d", q.Since)}
	}
	if q.PageSize < 0 || q.PageSize > MaxNodesPage {
		return &QueryError{"page_size", fmt.Sprintf("must be between 1 and %d, got %d", MaxNodesPage, q.PageSize)}
	}
	if _, err := q.Offset(); err != nil {
		return err
	}
	return nil
}

// Offset is the declared index the page starts from.
func (q NodesQuery) Offset() (int, error) {
	if q.PageToken == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(q.PageToken)
	if err == nil && len(b) > 2 && string(b[:2]) == "n:" {
		if n, err := strconv.Atoi(string(b[2:])); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, &QueryError{"page_token", "not a token this run returned"}
}

// PageTokenAt is the page token of the nodes from declared index i on (in
// declared order, without a status filter: a Status's NodesNextPageToken).
func PageTokenAt(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("n:" + strconv.Itoa(i)))
}

// Page returns the page of nodes (in declared order) that q asks for,
// among those keep accepts (by declared index; nil keeps all). The query
// must be well formed (Check).
func Page(nodes []NodeStatus, q NodesQuery, keep func(i int) bool) NodesPage {
	size := q.PageSize
	if size <= 0 {
		size = DefaultNodesPage
	}
	size = min(size, MaxNodesPage)
	from, _ := q.Offset()
	page := NodesPage{Nodes: []NodeStatus{}}
	for i, n := range nodes {
		if (q.Status != "" && n.Status != q.Status) || (keep != nil && !keep(i)) {
			continue
		}
		page.Total++
		if i < from {
			continue
		}
		if len(page.Nodes) == size {
			if page.NextPageToken == "" {
				page.NextPageToken = PageTokenAt(i)
			}
			continue
		}
		page.Nodes = append(page.Nodes, n)
	}
	return page
}
