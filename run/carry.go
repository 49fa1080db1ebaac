package run

import (
	"fmt"
	"time"
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

// Encode returns c as gzip-compressed JSON.
func (c *Carried) Encode() ([]byte, error) {
	data, err := gzipJSON(c)
	if err != nil {
		return nil, fmt.Errorf("compress the carried state: %w", err)
	}
	return data, nil
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
	var c Carried
	if err := gunzipJSON(data, MaxCarriedBytes, &c); err != nil {
		return nil, fmt.Errorf("the carried state: %w", err)
	}
	return &c, nil
}
