package run

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStates(t *testing.T) {
	for _, tt := range []struct {
		state  State
		closed bool
	}{
		{Running, false}, {Paused, false}, {"", false},
		{Completed, true}, {Failed, true}, {Cancelled, true}, {TimedOut, true}, {Terminated, true},
	} {
		assert.Equal(t, tt.closed, tt.state.Closed(), tt.state)
		assert.Equal(t, tt.closed, (&Status{Status: tt.state}).Closed(), tt.state)
	}
	for _, tt := range []struct {
		state    NodeState
		terminal bool
	}{
		{NodePending, false}, {NodeRunning, false}, {NodeWaitingApproval, false}, {NodeWaitingBudget, false},
		{NodeCompleted, true}, {NodeFailed, true}, {NodeSkipped, true}, {NodeCancelled, true},
	} {
		assert.Equal(t, tt.terminal, tt.state.Terminal(), tt.state)
	}
	assert.Len(t, NodeStates, 8)
}

// TestStatusJSON checks the wire words: history and clients hold them, so
// they must not change with the Go types.
func TestStatusJSON(t *testing.T) {
	st := Status{Status: Paused, Counts: map[NodeState]int{NodeCompleted: 1},
		Nodes: []NodeStatus{{ID: "a", Status: NodeWaitingApproval}}}
	data, err := json.Marshal(st)
	require.NoError(t, err)
	assert.Contains(t, string(data), `"status":"paused"`)
	assert.Contains(t, string(data), `"counts":{"completed":1}`)
	assert.Contains(t, string(data), `"status":"waiting_approval"`)
	var back Status
	require.NoError(t, json.Unmarshal(data, &back))
	assert.Equal(t, st.Status, back.Status)
	assert.Equal(t, NodeWaitingApproval, back.Node("a").Status)
	assert.Nil(t, back.Node("b"))

	// NodeResult.Full never reaches history.
	res, err := json.Marshal(NodeResult{Output: "x", Full: []byte("the whole output")})
	require.NoError(t, err)
	assert.NotContains(t, string(res), "whole")
}

func TestBudget(t *testing.T) {
	b := Budget{Tokens: 100, USD: 1, SpentTokens: 40, SpentUSD: 0.25}
	assert.False(t, b.Reached())
	assert.Equal(t, &Remaining{Tokens: 60, USD: 0.75}, b.Remaining())
	b.SpentUSD = 1
	assert.True(t, b.Reached())
	assert.False(t, Budget{}.Reached(), "no limits")
	assert.Equal(t, 10, (&Usage{InputTokens: 1, OutputTokens: 2, CacheReadTokens: 3, CacheWriteTokens: 4}).Tokens())
	assert.Zero(t, (*Usage)(nil).Tokens())
	assert.NoError(t, BudgetDecision{AddUSD: 5}.Check())
	assert.NoError(t, BudgetDecision{Reject: true}.Check())
	assert.Error(t, BudgetDecision{}.Check())
	assert.Error(t, BudgetDecision{AddTokens: -5, AddUSD: 1}.Check())
}
