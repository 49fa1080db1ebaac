package workflows

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// The marker a worker ends a capped output with; a node's activity loads
// the whole output from the artifact store when its input ends with it.
var cutMarker = regexp.MustCompile(`\n…\[truncated: (\d+) of (\d+) bytes shown\]$`)

// A node's input carries its dependencies' outputs whole while they fit in
// maxInputsBytes together; past it the biggest are cut, as a worker caps an
// output (70 outputs of 40 KB once made an input over Temporal's 2 MB
// payload limit).
func TestInputsFitTheNodesInput(t *testing.T) {
	const kb = 1 << 10
	for _, tc := range []struct {
		name  string
		sizes []int // of the dependencies' outputs
		whole int   // how many of the first stay whole
	}{
		{"few small outputs", []int{kb, kb, kb}, 3},
		{"exactly the limit", []int{64 * kb, 64 * kb, 64 * kb, 64 * kb}, 4},
		{"70 outputs of 40 KB", repeat(70, 40*kb), 0},
		{"small ones stay whole beside big ones", append(repeat(10, kb), repeat(5, 200*kb)...), 10},
		{"3,000 outputs", repeat(3000, 32*kb), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ids := fanIn(tc.sizes)
			outputs, _ := s.inputs(len(ids))
			require.Len(t, outputs, len(ids))
			total, cut := 0, 0
			for k, id := range ids {
				o := outputs[id]
				total += len(o)
				assert.True(t, utf8.ValidString(o), id)
				if k < tc.whole {
					assert.Len(t, o, tc.sizes[k], "%s stays whole", id)
					continue
				}
				m := cutMarker.FindStringSubmatch(o)
				require.NotNil(t, m, "%s ends with the worker's marker", id)
				assert.Equal(t, fmt.Sprint(tc.sizes[k]), m[2], "the marker gives the whole size")
				cut++
			}
			assert.LessOrEqual(t, total, maxInputsBytes+cut*50, "the cap, and a marker per cut output")
		})
	}
}

// An output a worker already capped keeps its whole size in the marker
// when the workflow cuts it further.
func TestInputsKeepTheWorkersTotal(t *testing.T) {
	s, ids := fanIn(repeat(20, 30<<10))
	for i := range ids {
		s.results[i].Output += "\n…[truncated: 30720 of 500000 bytes shown]"
	}
	outputs, _ := s.inputs(len(ids))
	for _, id := range ids {
		m := cutMarker.FindStringSubmatch(outputs[id])
		require.NotNil(t, m, id)
		assert.Equal(t, "500000", m[2], id)
		assert.Equal(t, 1, strings.Count(outputs[id], "[truncated:"), "one marker")
	}
}

func repeat(n, size int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = size
	}
	return out
}

// fanIn returns a scheduler whose last node depends on nodes that
// completed with outputs of the given sizes (two-byte runes, so that cuts
// must keep UTF-8 whole), and those nodes' IDs.
func fanIn(sizes []int) (*scheduler, []string) {
	p := dag.Pipeline{Name: "p", Mode: dag.ModeDAGParallel, MaxParallel: dag.MaxParallelLimit}
	ids := make([]string, len(sizes))
	for i := range sizes {
		ids[i] = fmt.Sprintf("d%d", i)
		p.Nodes = append(p.Nodes, dag.Node{ID: ids[i], Executor: dag.NewExecutor(&dag.NoopSpec{})})
	}
	p.Nodes = append(p.Nodes, dag.Node{ID: "last", DependsOn: ids, Executor: dag.NewExecutor(&dag.NoopSpec{})})
	s := newScheduler(run.Input{Pipeline: p}, nil)
	for len(s.active) > 0 || s.count(run.NodeCompleted) < len(sizes) {
		s.startReady(t0, func(int, startKind) {})
		for _, i := range append([]int(nil), s.active...) {
			if i < len(sizes) {
				s.complete(i, run.NodeResult{Output: strings.Repeat("é", sizes[i]/2)}, t0)
			}
		}
	}
	return s, ids
}

// What a node's input weighs for the per-task start budget is pinned: a
// change moves where recorded runs' tasks stopped, which a replay then
// refuses (guard one with workflow.GetVersion).
func TestStartBytesIsPinned(t *testing.T) {
	r := &execution{p: dag.Pipeline{Params: map[string]any{"blob": strings.Repeat("x", 100)}}, paramsBytes: -1}
	in := run.NodeInput{
		Node:   dag.Node{ID: "n", Executor: dag.NewExecutor(&dag.CommandSpec{Process: dag.Process{Argv: []string{"go", "test"}, Env: map[string]string{"A": "b"}}})},
		Params: r.p.Params,
		Inputs: map[string]string{"dep": "output"},
	}
	// 1024 + argv 6 + env 2 + params {"blob":"x…"} 111 + dep 3 + output 6
	assert.Equal(t, 1152, r.startBytes(in))
	in.Params, in.Inputs = nil, nil
	assert.Equal(t, 1032, r.startBytes(in), "a standalone input")
}
