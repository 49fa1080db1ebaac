package dag

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pipelineOf(mode Mode, nodes ...Node) Pipeline {
	return Pipeline{Name: "p", Mode: mode, Nodes: nodes}
}

// sdlcShape is the SDLC phases as a DAG: backend and frontend both follow
// design.
func sdlcShape(mode Mode) Pipeline {
	return pipelineOf(mode,
		noop("requirements"),
		noop("design", "requirements"),
		noop("backend", "design"),
		noop("frontend", "design"),
		noop("testing", "backend", "frontend"),
		noop("review", "testing"),
		noop("deployment", "review"),
	)
}

func TestLevels(t *testing.T) {
	tests := []struct {
		name string
		p    Pipeline
		want [][]string
	}{
		{"diamond", pipelineOf("", noop("a"), noop("b", "a"), noop("c", "a"), noop("d", "b", "c")),
			[][]string{{"a"}, {"b", "c"}, {"d"}}},
		{"SDLC", sdlcShape(ModeDAGParallel),
			[][]string{{"requirements"}, {"design"}, {"backend", "frontend"}, {"testing"}, {"review"}, {"deployment"}}},
		{"declared order within a level", pipelineOf("", noop("a"), noop("c", "a"), noop("b", "a"), noop("d", "b", "c")),
			[][]string{{"a"}, {"c", "b"}, {"d"}}},
		{"dependencies declared after their dependents", pipelineOf("", noop("d", "b", "c"), noop("c", "a"), noop("b", "a"), noop("a")),
			[][]string{{"a"}, {"c", "b"}, {"d"}}},
		{"depth is the longest path", pipelineOf("", noop("a"), noop("b", "a"), noop("c", "b"), noop("e", "a", "c")),
			[][]string{{"a"}, {"b"}, {"c"}, {"e"}}},
		{"independent nodes share level 0", pipelineOf("", noop("x"), noop("y"), noop("z", "x")),
			[][]string{{"x", "y"}, {"z"}}},
		{"single node", pipelineOf("", noop("only")), [][]string{{"only"}}},
		{"no nodes", pipelineOf(""), nil},
		{"a cycle and its dependents are left out", pipelineOf("", noop("a"), noop("b", "c"), noop("c", "b"), noop("d", "c"), noop("e", "a")),
			[][]string{{"a"}, {"e"}}},
		{"unknown and self dependencies are left out", pipelineOf("", noop("a"), noop("b", "ghost"), noop("c", "c"), noop("d", "b"), noop("e", "a")),
			[][]string{{"a"}, {"e"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.p.Levels())
		})
	}
}

// A long chain (the node limit) is levelled without trouble.
func TestLevelsLongChain(t *testing.T) {
	var nodes []Node
	for i := range MaxNodes {
		n := noop(fmt.Sprint("n", i))
		if i > 0 {
			n.DependsOn = []string{fmt.Sprint("n", i-1)}
		}
		nodes = append(nodes, n)
	}
	levels := pipelineOf("", nodes...).Levels()
	require.Len(t, levels, MaxNodes)
	assert.Equal(t, []string{fmt.Sprint("n", MaxNodes-1)}, levels[MaxNodes-1])
}

// assertTopological checks that order holds every node of p once, each after
// all of its dependencies.
func assertTopological(t *testing.T, p Pipeline, order []string) {
	t.Helper()
	require.Len(t, order, len(p.Nodes))
	pos := map[string]int{}
	for i, id := range order {
		_, dup := pos[id]
		require.False(t, dup, "%q twice in %v", id, order)
		pos[id] = i
	}
	for _, n := range p.Nodes {
		for _, dep := range n.DependsOn {
			assert.Less(t, pos[dep], pos[n.ID], "%q runs before its dependency %q in %v", n.ID, dep, order)
		}
	}
}

func TestOrder(t *testing.T) {
	// Declared order differs from level order: c has no dependencies but
	// comes after b, which depends on a.
	p := pipelineOf("", noop("a"), noop("b", "a"), noop("c"), noop("d", "b", "c"))
	require.NoError(t, p.Validate())

	assert.Equal(t, []string{"a", "b", "c", "d"}, p.Order(ModeLinear), "linear keeps declared order")
	assert.Equal(t, []string{"a", "c", "b", "d"}, p.Order(ModeDAGLinear), "dag_linear runs level by level")
	assert.Equal(t, p.Order(ModeDAGLinear), p.Order(ModeDAGParallel))
	assertTopological(t, p, p.Order(ModeDAGLinear))

	// Nodes declared before their dependencies: linear order is declared
	// order regardless, the DAG order is still topological.
	q := pipelineOf("", noop("deploy", "test"), noop("test", "build"), noop("build"))
	require.NoError(t, q.Validate())
	assert.Equal(t, []string{"deploy", "test", "build"}, q.Order(ModeLinear))
	assert.Equal(t, []string{"build", "test", "deploy"}, q.Order(ModeDAGLinear))

	s := sdlcShape(ModeDAGLinear)
	assertTopological(t, s, s.Order(ModeDAGLinear))
	assert.Equal(t, []string{"requirements", "design", "backend", "frontend", "testing", "review", "deployment"}, s.Order(ModeDAGLinear))
	assert.Equal(t, s.Order(ModeDAGLinear), s.Order(""), "an empty mode orders like the DAG modes")

	assert.Empty(t, pipelineOf(ModeLinear).Order(ModeLinear))
	assert.Empty(t, pipelineOf(ModeDAGLinear).Order(ModeDAGLinear))
}

func TestParallelism(t *testing.T) {
	tests := []struct {
		mode        Mode
		maxParallel int
		want        int
	}{
		{ModeLinear, 0, 1},
		{ModeLinear, 10, 1},
		{ModeDAGLinear, 0, 1},
		{ModeDAGLinear, 10, 1},
		{ModeDAGParallel, 0, DefaultMaxParallel},
		{ModeDAGParallel, -5, DefaultMaxParallel},
		{ModeDAGParallel, 1, 1},
		{ModeDAGParallel, 7, 7},
		{ModeDAGParallel, MaxParallelLimit, MaxParallelLimit},
		{ModeDAGParallel, MaxParallelLimit + 1, MaxParallelLimit},
		{ModeDAGParallel, 1 << 30, MaxParallelLimit},
		{"", 0, DefaultMaxParallel},
		{"", 3, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d", tt.mode, tt.maxParallel), func(t *testing.T) {
			p := Pipeline{Mode: tt.mode, MaxParallel: tt.maxParallel}
			assert.Equal(t, tt.want, p.Parallelism())
		})
	}
}

func TestRunTimeout(t *testing.T) {
	tests := []struct {
		timeout Duration
		want    time.Duration
	}{
		{"", DefaultRunTimeout},
		{"0s", DefaultRunTimeout},
		{"-1m", DefaultRunTimeout},
		{"not a duration", DefaultRunTimeout},
		{"90s", 90 * time.Second},
		{"24h", 24 * time.Hour},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Pipeline{Timeout: tt.timeout}.RunTimeout(), "timeout %q", tt.timeout)
	}
	assert.Equal(t, 2*time.Hour, DefaultRunTimeout)
}

func TestPipelineAccessors(t *testing.T) {
	assert.Equal(t, FailFast, Pipeline{}.Policy())
	assert.Equal(t, FailFast, Pipeline{FailurePolicy: FailFast}.Policy())
	assert.Equal(t, Continue, Pipeline{FailurePolicy: Continue}.Policy())

	assert.Equal(t, "build", Node{ID: "build"}.DisplayName())
	assert.Equal(t, "Build it", Node{ID: "build", Name: "Build it"}.DisplayName())

	p := pipelineOf("", noop("a"), noop("b"), noop("c"))
	assert.Equal(t, map[string]int{"a": 0, "b": 1, "c": 2}, p.Index())
	assert.Empty(t, Pipeline{}.Index())
}
