package run

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func statusOf(n int) Status {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	st := Status{WorkflowID: "w", Status: Completed, TotalNodes: n, CompletedNodes: n, Counts: map[NodeState]int{NodeCompleted: n}}
	for i := range n {
		end := at.Add(time.Duration(i) * time.Millisecond)
		st.Nodes = append(st.Nodes, NodeStatus{ID: fmt.Sprintf("n%d", i), Name: fmt.Sprintf("n%d", i), Executor: "noop",
			DependsOn: []string{}, Status: NodeCompleted, Attempts: 1, StartedAt: &at, EndedAt: &end,
			Output: fmt.Sprintf("n%d done", i), OutputBytes: 7})
	}
	return st
}

func TestCompactKeepsSmallStatusesReadable(t *testing.T) {
	st := statusOf(7)
	require.NoError(t, st.Compact())
	assert.Len(t, st.Nodes, 7)
	assert.Nil(t, st.NodesCompressed)
}

func TestCompactCompressesManyNodesAndDecodingExpandsThem(t *testing.T) {
	st := statusOf(500)
	whole, err := json.Marshal(st)
	require.NoError(t, err)
	compact := st
	require.NoError(t, compact.Compact())
	assert.Nil(t, compact.Nodes)
	b, err := json.Marshal(compact)
	require.NoError(t, err)
	assert.Less(t, len(b)*5, len(whole), "compact %d bytes, whole %d", len(b), len(whole))
	assert.Contains(t, string(b), `"status":"completed"`, "the summary stays readable")
	assert.Contains(t, string(b), `"nodes_gzip":`)

	var back Status
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Nil(t, back.NodesCompressed)
	assert.Equal(t, st, back)
	// Encoded again (the API's answer), it is the whole status.
	again, err := json.Marshal(back)
	require.NoError(t, err)
	assert.JSONEq(t, string(whole), string(again))
}

func TestDecodingRefusesBadCompressedNodes(t *testing.T) {
	var st Status
	err := json.Unmarshal([]byte(`{"status":"completed","nodes_gzip":"bm90IGd6aXA="}`), &st)
	assert.ErrorContains(t, err, "compressed nodes")

	bomb, err := gzipJSON(json.RawMessage(`["` + strings.Repeat("x", maxStatusNodesBytes) + `"]`))
	require.NoError(t, err)
	b, err := json.Marshal(map[string]any{"nodes_gzip": bomb})
	require.NoError(t, err)
	err = json.Unmarshal(b, &st)
	assert.ErrorContains(t, err, "over")
}

func TestCompactLeavesWholeWhatADecoderWouldRefuse(t *testing.T) {
	st := statusOf(2)
	st.Nodes[0].Output = strings.Repeat("x", maxStatusNodesBytes)
	require.NoError(t, st.Compact())
	assert.Len(t, st.Nodes, 2)
	assert.Nil(t, st.NodesCompressed)
}
