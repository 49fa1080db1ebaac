package run

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNodeResultJSONLeavesOutWhatItCanTell(t *testing.T) {
	exit := 3
	tests := []struct {
		name string
		res  NodeResult
		json string
	}{
		{"whole output, first attempt", NodeResult{Output: "n1 done", OutputBytes: 7, Attempt: 1}, `{"output":"n1 done"}`},
		{"truncated output", NodeResult{Output: "abc", Truncated: true, OutputBytes: 9000, Attempt: 1}, `{"output":"abc","truncated":true,"output_bytes":9000}`},
		{"third attempt", NodeResult{Output: "", Attempt: 3, ExitCode: &exit}, `{"output":"","attempt":3,"exit_code":3}`},
		{"size differs from the output", NodeResult{Output: "ab", OutputBytes: 5, Attempt: 2}, `{"output":"ab","output_bytes":5,"attempt":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.res)
			require.NoError(t, err)
			assert.JSONEq(t, tt.json, string(b))
			var back NodeResult
			require.NoError(t, json.Unmarshal(b, &back))
			want := tt.res
			if want.OutputBytes == 0 {
				want.OutputBytes = len(want.Output)
			}
			assert.Equal(t, want, back)
		})
	}
}

func TestNodeResultDecodesTheEarlierForm(t *testing.T) {
	// Results recorded before the compact form spelled every field out.
	var r NodeResult
	require.NoError(t, json.Unmarshal([]byte(`{"output":"n1 done","output_bytes":7,"attempt":1}`), &r))
	assert.Equal(t, NodeResult{Output: "n1 done", OutputBytes: 7, Attempt: 1}, r)
	// In a map (a retry's reused results) too.
	var in Input
	require.NoError(t, json.Unmarshal([]byte(`{"pipeline":{"name":"p","nodes":[]},"reuse":{"a":{"output":"x"}}}`), &in))
	assert.Equal(t, NodeResult{Output: "x", OutputBytes: 1, Attempt: 1}, in.Reuse["a"])
}

func TestNodeResultZeroSizeOfAWholeOutputReadsAsItsLength(t *testing.T) {
	// The compact form cannot tell "size unknown" (0) from "whole": a
	// result built without OutputBytes decodes with the output's length,
	// and one without Attempt as attempt 1. The activity always sets both.
	b, err := json.Marshal(NodeResult{Output: "abc"})
	require.NoError(t, err)
	var back NodeResult
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, NodeResult{Output: "abc", OutputBytes: 3, Attempt: 1}, back)
}
