package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/maestrohq/maestro/dag"
)

// CompressInputAbove is the encoded size above which a run's start input
// travels compressed (as a Carried of part 0, the input alone): Temporal
// warns about payloads over 512 KB, and a 10,000-node pipeline is ~0.7 MB
// of JSON but ~60 KB compressed.
const CompressInputAbove = 256 << 10

// Compressed returns in as a start input that carries it compressed
// (Input.Continued with a Carried of part 0).
func Compressed(in Input) (Input, error) {
	data, err := (&Carried{Input: in}).Encode()
	if err != nil {
		return Input{}, err
	}
	return Input{Continued: data}, nil
}

// Carried is what a run carries into its next part when it continues as new
// (a long run's history is cut in parts so that none nears Temporal's
// limits): the input it started with and the state of every node that left
// pending. It travels gzip-compressed in Input.Continued, so that a 10,000-node
// pipeline and its states stay far below the payload limit.
type Carried struct {
	// Input is the run's input, without Reuse (reused nodes are carried
	// as nodes).
	Input Input `json:"input"`
	// Part counts the parts before the next one (1 for the second part);
	// 0 is a first part whose input was compressed (see Compressed).
	Part int `json:"part"`
	// StartedAt is when the run's first part started; the run's timeout
	// counts from it.
	StartedAt time.Time `json:"started_at"`
	// Paused says the run was paused.
	Paused bool `json:"paused,omitempty"`
	// Early holds approval decisions for nodes that had not waited yet.
	Early []Approval `json:"early,omitempty"`
	// Budget is the budget and its spend; BudgetStopped says the budget
	// stopped an attempt since it was last extended.
	Budget        *Budget `json:"budget,omitempty"`
	BudgetStopped bool    `json:"budget_stopped,omitempty"`
	// Workspace is the repository status of a workspace run (its start
	// commit): the next part does not prepare it again.
	Workspace *WorkspaceStatus `json:"workspace,omitempty"`
	// Version is the run's version (Status.Version) when it continued.
	Version int64 `json:"version,omitempty"`
	// Nodes are the nodes that left pending, in declared order.
	Nodes []CarriedNode `json:"nodes"`
}

// CarriedNode is a node's state in Carried, with short keys: there are
// up to 10,000. Output is kept only while a dependent may still need it
// (one has not completed); the full output stays in the artifact store.
type CarriedNode struct {
	Index     int           `json:"i"`
	State     NodeState     `json:"s"`
	Attempts  int32         `json:"a,omitempty"`
	StartedAt int64         `json:"b,omitempty"` // Unix milliseconds
	EndedAt   int64         `json:"e,omitempty"`
	Error     string        `json:"err,omitempty"`
	ErrorType string        `json:"et,omitempty"`
	Output    string        `json:"o,omitempty"`
	Bytes     int           `json:"ob,omitempty"` // the output's full size
	Truncated bool          `json:"ot,omitempty"`
	Artifact  string        `json:"art,omitempty"`
	Reused    bool          `json:"r,omitempty"`
	Simulated bool          `json:"sim,omitempty"`
	Usage     *Usage        `json:"u,omitempty"`
	Approval  *Approval     `json:"ap,omitempty"`
	Commit    *Commit       `json:"c,omitempty"`
	Repairs   []RepairRound `json:"rp,omitempty"`
	ExitCode  *int          `json:"x,omitempty"`
	// Version is the run's version at the node's last change
	// (Status.Version), so that watches that read up to some version miss
	// nothing and see nothing twice across parts.
	Version int64 `json:"v,omitempty"`
}

// Result is the result of a carried completed node (its Output is empty
// once no dependent needs it).
func (c CarriedNode) Result() NodeResult {
	return NodeResult{Output: c.Output, OutputBytes: c.Bytes, Truncated: c.Truncated, Attempt: c.Attempts,
		Artifact: c.Artifact, Usage: c.Usage, Simulated: c.Simulated, Commit: c.Commit, ExitCode: c.ExitCode}
}

// Millis is t in Unix milliseconds, 0 for nil.
func Millis(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis is the time of Unix milliseconds ms (UTC), nil for 0.
func FromMillis(ms int64) *time.Time {
	if ms == 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// MaxCarriedBytes bounds a decoded Carried, so that a corrupt or hostile
// input cannot make a worker inflate without end.
const MaxCarriedBytes = 64 << 20

// Encode returns c as gzip-compressed JSON, its nodes as columns (see
// carriedColumns).
func (c *Carried) Encode() ([]byte, error) {
	w := carriedWire{Carried: *c}
	if len(c.Nodes) > 0 {
		// Workers from before the columns expect a list under "nodes": a
		// string there makes them refuse the state (the run fails with
		// BadCarriedState) rather than read it as no node done. A state
		// without nodes (a compressed start input) stays readable by them.
		w.Nodes, w.Columns = json.RawMessage(`"in cols"`), columnsOf(c.Nodes)
	}
	data, err := gzipJSON(w)
	if err != nil {
		return nil, fmt.Errorf("compress the carried state: %w", err)
	}
	return data, nil
}

// carriedWire is Carried as it is encoded: its nodes as columns, or, in
// parts encoded before columns, as a list under "nodes" (Nodes shadows
// Carried's).
type carriedWire struct {
	Carried
	Nodes   json.RawMessage `json:"nodes,omitempty"`
	Columns *carriedColumns `json:"cols,omitempty"`
}

// carriedColumns holds carried nodes column by column, the dense fields
// delta-encoded: nodes carried together differ little in index, times and
// version, so a 10,000-node run's carried states compress several times
// smaller than with an object per node. Decoding is exact.
type carriedColumns struct {
	// Index and Version are deltas from the previous node's.
	Index   []int   `json:"i"`
	Version []int64 `json:"v"`
	// Started is a delta from the previous node's StartedAt (ms), Ended
	// the node's EndedAt less its StartedAt.
	Started  []int64     `json:"b"`
	Ended    []int64     `json:"e"`
	State    []NodeState `json:"s"`
	Attempts []int32     `json:"a"`
	Bytes    []int       `json:"ob"`
	// Rest has, for the nodes with any other field set, their Index and
	// those fields.
	Rest []CarriedNode `json:"rest,omitempty"`
}

func columnsOf(nodes []CarriedNode) *carriedColumns {
	c := &carriedColumns{
		Index: make([]int, len(nodes)), Version: make([]int64, len(nodes)),
		Started: make([]int64, len(nodes)), Ended: make([]int64, len(nodes)),
		State: make([]NodeState, len(nodes)), Attempts: make([]int32, len(nodes)), Bytes: make([]int, len(nodes)),
	}
	var prev CarriedNode
	for i, n := range nodes {
		c.Index[i], c.Version[i] = n.Index-prev.Index, n.Version-prev.Version
		c.Started[i], c.Ended[i] = n.StartedAt-prev.StartedAt, n.EndedAt-n.StartedAt
		c.State[i], c.Attempts[i], c.Bytes[i] = n.State, n.Attempts, n.Bytes
		if n.sparse() {
			rest := n
			rest.Version, rest.StartedAt, rest.EndedAt, rest.State, rest.Attempts, rest.Bytes = 0, 0, 0, "", 0, 0
			c.Rest = append(c.Rest, rest)
		}
		prev = n
	}
	return c
}

// sparse reports whether n has a field set beyond those carriedColumns
// holds as columns (a test sets every field in turn).
func (n CarriedNode) sparse() bool {
	return n.Error != "" || n.ErrorType != "" || n.Output != "" || n.Truncated || n.Artifact != "" || n.Reused ||
		n.Simulated || n.Usage != nil || n.Approval != nil || n.Commit != nil || len(n.Repairs) > 0 || n.ExitCode != nil
}

// nodes decodes the columns.
func (c *carriedColumns) nodes() ([]CarriedNode, error) {
	n := len(c.Index)
	if n > dag.MaxNodes {
		return nil, fmt.Errorf("the carried columns hold %d nodes, over the limit of %d", n, dag.MaxNodes)
	}
	if len(c.Version) != n || len(c.Started) != n || len(c.Ended) != n || len(c.State) != n || len(c.Attempts) != n || len(c.Bytes) != n {
		return nil, errors.New("the carried columns differ in length")
	}
	nodes := make([]CarriedNode, n)
	at := make(map[int]int, n)
	var prev CarriedNode
	for i := range nodes {
		nd := CarriedNode{Index: prev.Index + c.Index[i], Version: prev.Version + c.Version[i], StartedAt: prev.StartedAt + c.Started[i],
			State: c.State[i], Attempts: c.Attempts[i], Bytes: c.Bytes[i]}
		nd.EndedAt = nd.StartedAt + c.Ended[i]
		nodes[i], prev = nd, nd
		at[nd.Index] = i
	}
	for _, r := range c.Rest {
		i, ok := at[r.Index]
		if !ok {
			return nil, fmt.Errorf("the carried columns have no node %d", r.Index)
		}
		d := nodes[i]
		r.Version, r.StartedAt, r.EndedAt, r.State, r.Attempts, r.Bytes = d.Version, d.StartedAt, d.EndedAt, d.State, d.Attempts, d.Bytes
		nodes[i] = r
	}
	return nodes, nil
}

// Open returns the input a run was started with, out of its compressed form
// when it has one, and the state an earlier part carried (nil for a run's
// first part, whether its input was compressed or not).
func Open(in Input) (Input, *Carried, error) {
	if len(in.Continued) == 0 {
		return in, nil, nil
	}
	c, err := DecodeCarried(in.Continued)
	if err != nil {
		return in, nil, err
	}
	if c.Part == 0 {
		return c.Input, nil, nil
	}
	return c.Input, c, nil
}

// DecodeCarried decodes what Encode returned.
func DecodeCarried(data []byte) (*Carried, error) {
	var w carriedWire
	if err := gunzipJSON(data, MaxCarriedBytes, &w); err != nil {
		return nil, fmt.Errorf("the carried state: %w", err)
	}
	c := w.Carried
	var err error
	switch {
	case w.Columns != nil:
		c.Nodes, err = w.Columns.nodes()
	case len(w.Nodes) > 0:
		err = json.Unmarshal(w.Nodes, &c.Nodes)
	}
	if err != nil {
		return nil, fmt.Errorf("the carried state: %w", err)
	}
	return &c, nil
}
