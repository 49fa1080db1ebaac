package run

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
)

func carriedOf(n int) *Carried {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).UnixMilli()
	c := &Carried{Input: Input{Template: "t"}, Part: 2, StartedAt: time.UnixMilli(at).UTC(), Version: int64(3 * n)}
	for i := range n {
		c.Nodes = append(c.Nodes, CarriedNode{Index: i, State: NodeCompleted, Attempts: 1,
			StartedAt: at + int64(i*7%500), EndedAt: at + int64(i*7%500) + int64(3+i%11), Bytes: 7, Version: int64(2*i + 1)})
	}
	return c
}

func TestCarriedRoundTripsEveryField(t *testing.T) {
	// One node per field of CarriedNode with only that field (and its
	// index) set, between plain completed nodes, and one never started:
	// a field the column encoding forgot would come back empty.
	exit := 2
	c := carriedOf(3)
	c.Nodes = append(c.Nodes, CarriedNode{Index: 3, State: NodeSkipped})
	typ := reflect.TypeFor[CarriedNode]()
	sample := CarriedNode{Index: 0, State: NodeFailed, Attempts: 3, StartedAt: 5, EndedAt: 9, Error: "e", ErrorType: "t",
		Output: "o", Bytes: 9, Truncated: true, Artifact: "a", Reused: true, Simulated: true, Usage: &Usage{Model: "m", InputTokens: 1},
		Approval: &Approval{Node: "g", Approved: true}, Commit: &Commit{SHA: "abc"}, Repairs: []RepairRound{{Round: 1}}, ExitCode: &exit, Version: 4}
	for f := range typ.NumField() {
		if typ.Field(f).Name == "Index" {
			continue
		}
		n := CarriedNode{Index: len(c.Nodes)}
		reflect.ValueOf(&n).Elem().Field(f).Set(reflect.ValueOf(sample).Field(f))
		assert.False(t, reflect.ValueOf(n).Field(f).IsZero(), "the sample sets %s", typ.Field(f).Name)
		c.Nodes = append(c.Nodes, n, CarriedNode{Index: len(c.Nodes) + 1, State: NodeCompleted, Attempts: 1, StartedAt: 100, EndedAt: 90})
	}
	data, err := c.Encode()
	require.NoError(t, err)
	back, err := DecodeCarried(data)
	require.NoError(t, err)
	assert.Equal(t, c, back)
}

func TestCarriedDecodesTheListForm(t *testing.T) {
	// Parts carried before the column encoding hold "nodes" as a list.
	c := carriedOf(5)
	c.Nodes[2].Error = "boom"
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	require.NoError(t, json.NewEncoder(zw).Encode(c))
	require.NoError(t, zw.Close())
	back, err := DecodeCarried(b.Bytes())
	require.NoError(t, err)
	assert.Equal(t, c, back)
}

func TestCarriedColumnsCompressBetterThanAList(t *testing.T) {
	c := carriedOf(8000)
	cols, err := c.Encode()
	require.NoError(t, err)
	list, err := gzipJSON(c)
	require.NoError(t, err)
	t.Logf("8,000 carried nodes: %d bytes as columns, %d as a list", len(cols), len(list))
	assert.Less(t, len(cols)*2, len(list))
}

func TestCarriedColumnsRefuseMismatchedLengths(t *testing.T) {
	data, err := gzipJSON(map[string]any{"part": 1, "cols": map[string]any{"i": []int{0, 1}, "v": []int{1}}})
	require.NoError(t, err)
	_, err = DecodeCarried(data)
	assert.ErrorContains(t, err, "differ in length")
}

func TestCarriedColumnsAreRefusedByListReaders(t *testing.T) {
	// A worker from before the columns decodes "nodes" as a list: it must
	// fail, not read no node done.
	data, err := carriedOf(3).Encode()
	require.NoError(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(data))
	require.NoError(t, err)
	var old struct {
		Nodes []CarriedNode `json:"nodes"`
	}
	assert.Error(t, json.NewDecoder(zr).Decode(&old))
}

func TestACompressedStartInputStaysInTheListForm(t *testing.T) {
	in, err := Compressed(Input{Template: "t"})
	require.NoError(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(in.Continued))
	require.NoError(t, err)
	var old struct {
		Nodes []CarriedNode `json:"nodes"`
		Input Input         `json:"input"`
	}
	require.NoError(t, json.NewDecoder(zr).Decode(&old), "a worker from before the columns reads it")
	assert.Equal(t, "t", old.Input.Template)
}

func TestCarriedColumnsRefuseMoreNodesThanAPipelineHas(t *testing.T) {
	data, err := gzipJSON(map[string]any{"part": 1, "cols": map[string]any{"i": make([]int, dag.MaxNodes+1)}})
	require.NoError(t, err)
	_, err = DecodeCarried(data)
	assert.ErrorContains(t, err, "over the limit")
}
