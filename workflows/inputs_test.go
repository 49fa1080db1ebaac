package workflows

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// A node's input carries its dependencies' outputs whole while they fit in
// maxInputsBytes together, and an equal cut share of each past it (70
// outputs of 40 KB once made an input over Temporal's 2 MB payload limit).
func TestInputsFitTheNodesInput(t *testing.T) {
	for _, tc := range []struct {
		name       string
		deps, size int
		whole      bool
	}{
		{"few small outputs", 3, 1000, true},
		{"exactly the limit", 4, maxInputsBytes / 4, true},
		{"70 outputs of 40 KB", 70, 40 << 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := dag.Pipeline{Name: "p", Mode: dag.ModeDAGParallel}
			var ids []string
			for i := range tc.deps {
				id := fmt.Sprintf("d%d", i)
				ids = append(ids, id)
				p.Nodes = append(p.Nodes, dag.Node{ID: id, Executor: dag.NewExecutor(&dag.NoopSpec{})})
			}
			p.Nodes = append(p.Nodes, dag.Node{ID: "last", DependsOn: ids, Executor: dag.NewExecutor(&dag.NoopSpec{})})
			s := newScheduler(run.Input{Pipeline: p}, nil)
			s.startReady(t0, func(int, startKind) {})
			out := strings.Repeat("é", tc.size/2) // two bytes a rune: cuts must keep UTF-8 whole
			for i := range tc.deps {
				s.complete(i, run.NodeResult{Output: out}, t0)
			}
			outputs, _ := s.inputs(tc.deps)
			require.Len(t, outputs, tc.deps)
			total := 0
			for _, id := range ids {
				o := outputs[id]
				total += len(o)
				assert.True(t, utf8.ValidString(o), id)
				if tc.whole {
					assert.Equal(t, out, o, id)
				} else {
					assert.Contains(t, o, "the full output is the node's artifact", id)
				}
			}
			assert.LessOrEqual(t, total, maxInputsBytes)
		})
	}
}
