package dag

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// benchPipelineYAML is a pipeline of n command nodes in a chain, written as
// people write YAML (about 170 bytes per node).
func benchPipelineYAML(n int) []byte {
	var b strings.Builder
	b.WriteString("name: big\nmode: dag-parallel\nnodes:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - id: n%d\n    name: Node %d\n    phase: backend\n", i, i)
		if i > 0 {
			fmt.Fprintf(&b, "    depends_on: [n%d]\n", i-1)
		}
		b.WriteString("    executor:\n      kind: command\n      argv: [echo, hello, world]\n      env: {A: b, C: d}\n")
	}
	return []byte(b.String())
}

// BenchmarkParse decodes ~1 MB pipelines; -benchmem's B/op is what one
// decode allocates:
//
//	go test -run XXX -bench Parse -benchmem ./dag/
func BenchmarkParse(b *testing.B) {
	y := benchPipelineYAML(6000)
	p, err := Parse(y)
	if err != nil {
		b.Fatal(err)
	}
	j, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	var flow strings.Builder
	flow.WriteString("name: big\nnodes: [{id: a, executor: {kind: noop}}]\nparams:\n  x: [")
	for flow.Len() < MaxYAMLBytes-16 {
		flow.WriteString("1,")
	}
	flow.WriteString("1]\n")
	for _, c := range []struct {
		name string
		doc  []byte
	}{{"yaml", y}, {"json", j}, {"yaml-flow-worst", []byte(flow.String())}} {
		b.Run(fmt.Sprintf("%s-%dKiB", c.name, len(c.doc)>>10), func(b *testing.B) {
			b.SetBytes(int64(len(c.doc)))
			for b.Loop() {
				if _, err := Parse(c.doc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
