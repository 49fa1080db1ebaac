package bench

import (
	"fmt"

	"github.com/maestrohq/maestro/dag"
)

// Layered returns a pipeline of n no-op nodes in layers of width nodes, each
// node after the first layer depending on two nodes of the layer before it
// (the one in its column and the next). maxParallel caps nodes running at
// once.
func Layered(name string, n, width, maxParallel int) *dag.Pipeline {
	p := &dag.Pipeline{Name: name, Mode: dag.ModeDAGParallel, MaxParallel: maxParallel, Nodes: make([]dag.Node, n)}
	for i := range n {
		nd := dag.Node{ID: nodeID(i), Executor: dag.Executor{Kind: dag.KindNoop}}
		if i >= width {
			col, base := i%width, i-i%width-width
			nd.DependsOn = []string{nodeID(base + col)}
			if next := base + (col+1)%width; next != base+col {
				nd.DependsOn = append(nd.DependsOn, nodeID(next))
			}
		}
		p.Nodes[i] = nd
	}
	return p
}

func nodeID(i int) string { return fmt.Sprintf("n%d", i) }
