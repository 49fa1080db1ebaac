package dag

import (
	"encoding/json"
	"errors"
	"testing"
)

var fuzzSeeds = []string{
	fullJSON,
	fullYAML,
	// Valid.
	`{"name": "d", "nodes": [{"id": "a", "executor": {"kind": "noop"}}, {"id": "b", "depends_on": ["a"], "executor": {"kind": "noop"}}]}`,
	"name: diamond\nmode: dag_parallel\nnodes:\n  - {id: a, executor: {kind: noop}}\n  - {id: b, depends_on: [a], executor: {kind: noop}}\n" +
		"  - {id: c, depends_on: [a], executor: {kind: noop}}\n  - {id: d, depends_on: [b, c], executor: {kind: noop}}\n",
	"name: line\nmode: linear\nnodes:\n  - {id: a, executor: {kind: command, argv: [true]}}\n  - {id: b, depends_on: [a], executor: {kind: http, url: 'http://x'}}\n",
	"name: later\nmode: dag_linear\nnodes:\n  - {id: b, depends_on: [a], executor: {kind: noop}}\n  - {id: a, executor: {kind: noop}}\n",
	// Invalid pipelines.
	`{"name": "c", "nodes": [{"id": "a", "depends_on": ["c"], "executor": {"kind": "noop"}}, {"id": "b", "depends_on": ["a"], "executor": {"kind": "noop"}}, {"id": "c", "depends_on": ["b"], "executor": {"kind": "noop"}}]}`,
	"name: bad\nmode: linear\nmax_parallel: -1\ntimeout: x\nnodes:\n  - {id: a, depends_on: [a, b, b, zz]}\n  - {id: a, executor: {kind: http, url: /x, method: FETCH, argv: [x]}}\n" +
		"  - {id: '', depends_on: [''], retry: {max_attempts: -1, backoff: 0.5, initial_interval: -1s}, executor: {kind: lambda}}\n  - {id: b, depends_on: [a]}\n",
	"name: cycles\nnodes:\n  - {id: a, depends_on: [b]}\n  - {id: b, depends_on: [a]}\n  - {id: c, depends_on: [d]}\n  - {id: d, depends_on: [c, a]}\n",
	// Malformed documents.
	"",
	"{",
	`{"name": "x"} trailing`,
	"- a\n- b\n",
	"name: x\n---\nname: y\n",
	`{"name": "x", "depend_on": []}`,
	`{"name": "x", "max_parallel": "x"}`,
	"name: x\nparams: {1: a, true: b, ~: c}\n",
	"a: &a [*a]",
	"name: [\n",
	"\xef\xbb\xbfname: bom\nnodes: []\n",
}

// FuzzParseValidate checks that Parse and Validate never panic, that a
// pipeline Validate accepts can be levelled and ordered, that Validate is
// deterministic and that a parsed pipeline survives a JSON round trip.
func FuzzParseValidate(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse error %v is not ErrSyntax", err)
			}
			if p != nil {
				t.Fatalf("Parse returned both a pipeline and %v", err)
			}
			return
		}

		verr := p.Validate()
		if again := p.Validate(); !sameError(verr, again) {
			t.Fatalf("Validate is not deterministic:\n%v\n%v", verr, again)
		}

		// The pipeline round-trips through JSON.
		j, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal a parsed pipeline: %v", err)
		}
		q, err := Parse(j)
		if err != nil {
			if len(j) > MaxDefinitionBytes {
				return // e.g. YAML aliases expanded past the limit
			}
			t.Fatalf("parse a marshalled pipeline: %v\n%s", err, j)
		}
		if !sameError(verr, q.Validate()) {
			t.Fatalf("Validate differs after a round trip:\n%v\n%v", verr, q.Validate())
		}

		if verr != nil {
			var ve *ValidationError
			if !errors.As(verr, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("Validate returned %T %v, want a *ValidationError with problems", verr, verr)
			}
			for _, pr := range ve.Problems {
				if pr.Field == "" || pr.Message == "" {
					t.Fatalf("problem without field or message: %+v", pr)
				}
			}
			return
		}

		// A valid pipeline: Levels covers every node exactly once, each after
		// all of its dependencies.
		level := map[string]int{}
		for l, ids := range p.Levels() {
			if len(ids) == 0 {
				t.Fatalf("empty level %d in %v", l, p.Levels())
			}
			for _, id := range ids {
				if _, dup := level[id]; dup {
					t.Fatalf("%q in two levels: %v", id, p.Levels())
				}
				level[id] = l
			}
		}
		if len(level) != len(p.Nodes) {
			t.Fatalf("levels %v cover %d of %d nodes", p.Levels(), len(level), len(p.Nodes))
		}
		for _, n := range p.Nodes {
			l, ok := level[n.ID]
			if !ok {
				t.Fatalf("node %q missing from levels %v", n.ID, p.Levels())
			}
			deepest := -1
			for _, dep := range n.DependsOn {
				dl, ok := level[dep]
				if !ok || dl >= l {
					t.Fatalf("node %q (level %d) depends on %q (level %d, present %v)", n.ID, l, dep, dl, ok)
				}
				deepest = max(deepest, dl)
			}
			if deepest+1 != l {
				t.Fatalf("node %q is on level %d, want %d", n.ID, l, deepest+1)
			}
		}

		// Every mode's order holds every node once; the DAG order runs each
		// node after its dependencies.
		for _, mode := range Modes {
			order := p.Order(mode)
			if len(order) != len(p.Nodes) {
				t.Fatalf("Order(%s) = %v has %d of %d nodes", mode, order, len(order), len(p.Nodes))
			}
			pos := map[string]int{}
			for i, id := range order {
				pos[id] = i
			}
			if len(pos) != len(p.Nodes) {
				t.Fatalf("Order(%s) = %v repeats a node", mode, order)
			}
			if mode == ModeLinear && p.Mode != ModeLinear {
				continue // declared order need not be topological
			}
			for _, n := range p.Nodes {
				for _, dep := range n.DependsOn {
					if pos[dep] >= pos[n.ID] {
						t.Fatalf("Order(%s) = %v runs %q before its dependency %q", mode, order, n.ID, dep)
					}
				}
			}
		}
		if par := p.Parallelism(); par < 1 || par > MaxParallelLimit {
			t.Fatalf("Parallelism() = %d", par)
		}
		if p.RunTimeout() <= 0 {
			t.Fatalf("RunTimeout() = %v", p.RunTimeout())
		}
	})
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
}
