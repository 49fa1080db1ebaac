package workflows

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// A run that continues as new: the scheduler holds new starts, carries every
// node that left pending (outputs only where a dependent still needs them),
// and the next part's scheduler goes on exactly where it stopped.
func TestCarryRoundTrip(t *testing.T) {
	p := dag.Pipeline{Name: "carry", Mode: dag.ModeDAGParallel, FailurePolicy: dag.Continue, MaxParallel: 10, Nodes: []dag.Node{
		task("a"), task("b", "a"), task("c", "a"), task("d", "b", "c"), task("bad"), task("after-bad", "bad"),
		approvalGate("gate", "d"), task("e", "gate"),
	}}
	s := newScheduler(run.Input{Pipeline: p}, nil)
	assert.Equal(t, "a,bad", loop(t, s))
	s.complete(s.index["a"], run.NodeResult{Output: "out-a", OutputBytes: 5, Attempt: 1, Artifact: "art-a"}, t0)
	s.fail(s.index["bad"], "boom", "CommandFailed", 3, t0)
	s.hold = true
	assert.Equal(t, "", loop(t, s), "nothing starts while holding")
	assert.True(t, s.canCarry())
	_, _, err := s.receiveApproval(run.Approval{Node: "gate", Approved: true, Comment: "early"}, t0)
	require.NoError(t, err)
	s.pause()

	c := &run.Carried{Input: run.Input{Pipeline: p}, Part: 1, StartedAt: t0}
	s.carryState(c)
	data, err := c.Encode()
	require.NoError(t, err)
	c2, err := run.DecodeCarried(data)
	require.NoError(t, err)
	require.Len(t, c2.Nodes, 3, "a, bad and after-bad left pending")
	assert.Equal(t, "out-a", c2.Nodes[0].Output, "b and c still need a's output")

	next := newScheduler(c2.Input, nil)
	next.restore(c2)
	checkInvariants(t, next)
	assert.Equal(t, s.version, next.version, "the run's version goes on")
	assert.Equal(t, s.changedAt, next.changedAt, "each node keeps the version of its last change")
	assert.Empty(t, next.page(run.NodesQuery{Since: s.version}).Nodes, "nothing changed since the hand-over")
	assert.Equal(t, run.NodeCompleted, next.nodes[next.index["a"]].Status)
	assert.Equal(t, run.NodeFailed, next.nodes[next.index["bad"]].Status)
	assert.Equal(t, "boom", next.nodes[next.index["bad"]].Error)
	assert.Equal(t, int32(3), next.nodes[next.index["bad"]].Attempts)
	assert.Equal(t, run.NodeSkipped, next.nodes[next.index["after-bad"]].Status)
	assert.Equal(t, "", loop(t, next), "still paused")
	next.resume()
	assert.Equal(t, "b,c", loop(t, next))
	out, art := next.inputs(next.index["b"])
	assert.Equal(t, map[string]string{"a": "out-a"}, out)
	assert.Nil(t, art, "a's artifact is filed under this workflow ID")
	next.complete(next.index["b"], run.NodeResult{Output: "out-b"}, t0)
	next.complete(next.index["c"], run.NodeResult{Output: "out-c"}, t0)
	assert.Equal(t, "d", loop(t, next))
	next.complete(next.index["d"], run.NodeResult{}, t0)
	assert.Equal(t, "gate,e", loop(t, next), "the early approval was carried: the gate is decided as it starts")
	assert.Equal(t, "early", next.nodes[next.index["gate"]].Approval.Comment)

	// Once every dependent completed, an output is no longer carried.
	c3 := &run.Carried{}
	next.carryState(c3)
	for _, n := range c3.Nodes {
		if p.Nodes[n.Index].ID == "a" {
			assert.Empty(t, n.Output)
			assert.Equal(t, 5, n.Bytes)
			assert.Equal(t, "art-a", n.Artifact)
		}
	}
}

// The scheduler does not get ready to continue as new while an approval
// waits (it could wait for days), nor when it is stopping or nothing is
// left to start.
func TestCanCarry(t *testing.T) {
	p := dag.Pipeline{Name: "c", Mode: dag.ModeDAGParallel, Nodes: []dag.Node{approvalGate("gate"), task("x"), task("y", "x")}}
	s := newScheduler(run.Input{Pipeline: p}, nil)
	loop(t, s)
	assert.False(t, s.canCarry(), "the gate waits")
	_, _, err := s.receiveApproval(run.Approval{Node: "gate", Approved: true}, t0)
	require.NoError(t, err)
	assert.True(t, s.canCarry(), "x runs, y is pending")
	s.complete(s.index["x"], run.NodeResult{}, t0)
	loop(t, s)
	assert.False(t, s.canCarry(), "nothing pending")
}

// A corrupt carried state is refused, not decoded into nonsense.
func TestDecodeCarriedRefusesGarbage(t *testing.T) {
	_, err := run.DecodeCarried([]byte("not gzip"))
	assert.Error(t, err)
	_, _, err = continued(run.Input{Continued: []byte("not gzip")})
	assert.ErrorContains(t, err, "decompress")
}
