// Package templates holds Maestro's built-in pipelines: the SDLC phases as a
// parallel DAG or as a line, parameterised by a requirement text.
package templates

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/maestrohq/maestro/dag"
)

// ErrUnknown is returned for a template name that does not exist.
var ErrUnknown = errors.New("unknown template")

// The built-in template names.
const (
	SDLCParallel = "sdlc-parallel"
	SDLCLinear   = "sdlc-linear"
)

// Info describes a template for listings.
type Info struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Mode        dag.Mode   `json:"mode"`
	Levels      [][]string `json:"levels"`
}

type phase struct {
	id, name string
	// deps are the phases it follows in the parallel template.
	deps []string
	// reads are earlier phases whose outputs it also needs (an agent phase
	// sees the outputs of its dependencies only). They become dependencies
	// too; deps already order the phase after them, so the execution
	// order is the same with or without them.
	reads []string
}

// The SDLC phases in dependency order; backend and frontend both follow
// design. Review reads everything it reviews; deployment reads the design
// (the architecture it deploys) beside the review.
var sdlc = []phase{
	{"requirements", "Requirements analysis", nil, nil},
	{"design", "Architecture and design", []string{"requirements"}, nil},
	{"backend", "Backend implementation", []string{"design"}, nil},
	{"frontend", "Frontend implementation", []string{"design"}, nil},
	{"testing", "Testing", []string{"backend", "frontend"}, nil},
	{"review", "Review", []string{"testing"}, []string{"requirements", "design", "backend", "frontend"}},
	{"deployment", "Deployment", []string{"review"}, []string{"design"}},
}

var descriptions = map[string]string{
	SDLCParallel: "requirements → design → backend ∥ frontend → testing → review → deployment",
	SDLCLinear:   "requirements → design → backend → frontend → testing → review → deployment, one at a time",
}

// Names lists the built-in templates in a stable order.
func Names() []string { return []string{SDLCParallel, SDLCLinear} }

// Build returns the named template as a pipeline whose params carry the
// requirement. Its phases are agent nodes with the worker's default provider
// and their phase's built-in role prompt; on a worker with no agent provider
// they complete with a placeholder output, marked simulated (see
// dag.AgentSpec.SimulatedOutput). The worker that runs a phase decides, not
// the process that builds the run.
func Build(name, requirement string) (*dag.Pipeline, error) {
	if !slices.Contains(Names(), name) {
		return nil, fmt.Errorf("%w %.100q (known: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	p := &dag.Pipeline{
		Name:        name,
		Description: descriptions[name],
		Mode:        dag.ModeDAGParallel,
		Params:      map[string]any{"requirement": requirement},
	}
	order := make(map[string]int, len(sdlc))
	for i, ph := range sdlc {
		order[ph.id] = i
	}
	prev := ""
	for _, ph := range sdlc {
		n := dag.Node{
			ID:       ph.id,
			Name:     ph.name,
			Phase:    ph.id,
			Executor: dag.NewExecutor(&dag.AgentSpec{SimulatedOutput: SimulatedOutput(ph.name)}),
		}
		deps := slices.Clone(ph.deps)
		if name == SDLCLinear {
			deps = nil
			if prev != "" {
				deps = []string{prev}
			}
			prev = ph.id
		}
		deps = append(deps, ph.reads...)
		slices.SortFunc(deps, func(a, b string) int { return order[a] - order[b] })
		n.DependsOn = slices.Compact(deps)
		p.Nodes = append(p.Nodes, n)
	}
	if name == SDLCLinear {
		p.Mode = dag.ModeLinear
	}
	return p, nil
}

// SimulatedOutput is the output of a phase named name on a worker with no
// agent provider.
func SimulatedOutput(name string) string { return name + " done (simulated)" }

// List describes every built-in template.
func List() []Info {
	var out []Info
	for _, name := range Names() {
		p, _ := Build(name, "")
		out = append(out, Info{Name: name, Description: p.Description, Mode: p.Mode, Levels: p.Levels()})
	}
	return out
}
