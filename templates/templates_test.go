package templates

import (
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
)

var phases = []string{"requirements", "design", "backend", "frontend", "testing", "review", "deployment"}

func TestTemplatesValidate(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			p, err := Build(name, "add a login page")
			require.NoError(t, err)
			require.NoError(t, p.Validate())
			require.NoError(t, p.ValidateStart(), "the bounds of durations")
			assert.Equal(t, name, p.Name)
			assert.NotEmpty(t, p.Description)

			var ids []string
			for _, n := range p.Nodes {
				ids = append(ids, n.ID)
				assert.Equal(t, n.ID, n.Phase, "each node is its own SDLC phase")
				assert.Contains(t, dag.Phases, n.Phase)
				assert.NotEmpty(t, n.Name)
				// An agent with the worker's provider and the phase's role
				// prompt, simulated on a worker without a provider.
				assert.Equal(t, dag.NewExecutor(&dag.AgentSpec{SimulatedOutput: n.Name + " done (simulated)"}), n.Executor)
			}
			assert.Equal(t, phases, ids)
			assert.Equal(t, dag.Phases, ids)
		})
	}
}

func TestSDLCParallel(t *testing.T) {
	p, err := Build(SDLCParallel, "r")
	require.NoError(t, err)
	assert.Equal(t, dag.ModeDAGParallel, p.Mode)
	assert.Equal(t, [][]string{{"requirements"}, {"design"}, {"backend", "frontend"}, {"testing"}, {"review"}, {"deployment"}}, p.Levels())

	deps := map[string][]string{}
	for _, n := range p.Nodes {
		deps[n.ID] = n.DependsOn
	}
	assert.Equal(t, map[string][]string{
		"requirements": nil,
		"design":       {"requirements"},
		"backend":      {"design"},
		"frontend":     {"design"},
		"testing":      {"backend", "frontend"},
		"review":       {"requirements", "design", "backend", "frontend", "testing"},
		"deployment":   {"design", "review"},
	}, deps)
	assert.Equal(t, dag.DefaultMaxParallel, p.Parallelism())
}

func TestSDLCLinear(t *testing.T) {
	p, err := Build(SDLCLinear, "r")
	require.NoError(t, err)
	assert.Equal(t, dag.ModeLinear, p.Mode)
	reads := map[string][]string{"review": {"requirements", "design", "backend", "frontend"}, "deployment": {"design"}}
	for i, n := range p.Nodes {
		if i == 0 {
			assert.Empty(t, n.DependsOn, n.ID)
			continue
		}
		// The previous phase, and the earlier phases it reads.
		assert.Equal(t, p.Nodes[i-1].ID, n.DependsOn[len(n.DependsOn)-1], n.ID)
		assert.ElementsMatch(t, append(reads[n.ID], p.Nodes[i-1].ID), n.DependsOn, n.ID)
	}
	assert.Equal(t, phases, p.Order(p.Mode))
	assert.Len(t, p.Levels(), len(phases))
	assert.Equal(t, 1, p.Parallelism())
}

func TestBuildRequirement(t *testing.T) {
	for _, name := range Names() {
		p, err := Build(name, "build a todo app")
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"requirement": "build a todo app"}, p.Params, name)
	}
	// Each build is independent: changing one does not change the next.
	a, err := Build(SDLCParallel, "a")
	require.NoError(t, err)
	a.Params["requirement"] = "changed"
	a.Nodes[4].DependsOn[0] = "changed"
	b, err := Build(SDLCParallel, "b")
	require.NoError(t, err)
	assert.Equal(t, "b", b.Params["requirement"])
	assert.Equal(t, []string{"backend", "frontend"}, b.Nodes[4].DependsOn)
}

func TestBuildUnknown(t *testing.T) {
	for _, name := range []string{"", "sdlc", "SDLC-PARALLEL", "sdlc-parallel "} {
		p, err := Build(name, "r")
		require.Error(t, err, name)
		assert.Nil(t, p)
		assert.True(t, errors.Is(err, ErrUnknown), "errors.Is(%v, ErrUnknown)", err)
		assert.Contains(t, err.Error(), "sdlc-parallel, sdlc-linear")
	}
}

func TestList(t *testing.T) {
	infos := List()
	require.Len(t, infos, 2)
	assert.Equal(t, []string{SDLCParallel, SDLCLinear}, Names())
	assert.Equal(t, SDLCParallel, infos[0].Name)
	assert.Equal(t, SDLCLinear, infos[1].Name)

	assert.Equal(t, dag.ModeDAGParallel, infos[0].Mode)
	assert.Equal(t, [][]string{{"requirements"}, {"design"}, {"backend", "frontend"}, {"testing"}, {"review"}, {"deployment"}}, infos[0].Levels)
	assert.Equal(t, dag.ModeLinear, infos[1].Mode)
	assert.Equal(t, [][]string{{"requirements"}, {"design"}, {"backend"}, {"frontend"}, {"testing"}, {"review"}, {"deployment"}}, infos[1].Levels)
	for _, info := range infos {
		assert.NotEmpty(t, info.Description, info.Name)
	}
}

// The review sees the output of every phase it reviews and the deployment
// the review's and the design's: an agent phase is given the outputs of its
// dependencies. The extra dependencies do not change the execution order.
func TestPhasesReadWhatTheyNeed(t *testing.T) {
	needs := map[string][]string{
		"review":     {"requirements", "design", "backend", "frontend", "testing"},
		"deployment": {"review", "design"},
	}
	for _, name := range Names() {
		p, err := Build(name, "r")
		require.NoError(t, err)
		for _, n := range p.Nodes {
			for _, dep := range needs[n.ID] {
				assert.Contains(t, n.DependsOn, dep, "%s: %s", name, n.ID)
			}
		}
		// Without the extra dependencies, the order and the levels are the
		// same.
		bare := *p
		bare.Nodes = slices.Clone(p.Nodes)
		for i, n := range bare.Nodes {
			switch {
			case name == SDLCLinear && i > 0:
				bare.Nodes[i].DependsOn = []string{bare.Nodes[i-1].ID}
			case n.ID == "review":
				bare.Nodes[i].DependsOn = []string{"testing"}
			case n.ID == "deployment":
				bare.Nodes[i].DependsOn = []string{"review"}
			}
		}
		for _, mode := range dag.Modes {
			if mode == dag.ModeLinear && name != SDLCLinear {
				continue
			}
			assert.Equal(t, bare.Order(mode), p.Order(mode), "%s in %s mode", name, mode)
		}
		assert.Equal(t, bare.Levels(), p.Levels(), name)
	}
}
