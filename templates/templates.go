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
	deps     []string
}

// The SDLC phases in dependency order; backend and frontend both follow design.
var sdlc = []phase{
	{"requirements", "Requirements analysis", nil},
	{"design", "Architecture and design", []string{"requirements"}},
	{"backend", "Backend implementation", []string{"design"}},
	{"frontend", "Frontend implementation", []string{"design"}},
	{"testing", "Testing", []string{"backend", "frontend"}},
	{"review", "Review", []string{"testing"}},
	{"deployment", "Deployment", []string{"review"}},
}

var descriptions = map[string]string{
	SDLCParallel: "requirements → design → backend ∥ frontend → testing → review → deployment",
	SDLCLinear:   "requirements → design → backend → frontend → testing → review → deployment, one at a time",
}

// Names lists the built-in templates in a stable order.
func Names() []string { return []string{SDLCParallel, SDLCLinear} }

// Options choose how a template is built.
type Options struct {
	// Agent makes every phase an agent node (kind agent, with the worker's
	// default provider and the phase's built-in role prompt). Set it when an
	// agent provider is configured (MAESTRO_AGENT_PROVIDER); without it the
	// phases use the noop executor and are simulated.
	Agent bool
}

// Build returns the named template as a pipeline whose params carry the
// requirement, with simulated (noop) phases: BuildWith with no options.
func Build(name, requirement string) (*dag.Pipeline, error) {
	return BuildWith(name, requirement, Options{})
}

// BuildWith returns the named template as a pipeline whose params carry the
// requirement. Its phases are agent nodes when opts.Agent is set, and noop
// nodes whose output says "(simulated)" otherwise.
func BuildWith(name, requirement string, opts Options) (*dag.Pipeline, error) {
	if !slices.Contains(Names(), name) {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	p := &dag.Pipeline{
		Name:        name,
		Description: descriptions[name],
		Mode:        dag.ModeDAGParallel,
		Params:      map[string]any{"requirement": requirement},
	}
	prev := ""
	for _, ph := range sdlc {
		n := dag.Node{
			ID:       ph.id,
			Name:     ph.name,
			Phase:    ph.id,
			Executor: dag.NewExecutor(&dag.NoopSpec{Output: ph.name + " done (simulated)"}),
		}
		if opts.Agent {
			n.Executor = dag.NewExecutor(&dag.AgentSpec{})
		}
		if name == SDLCLinear {
			if prev != "" {
				n.DependsOn = []string{prev}
			}
			prev = ph.id
		} else {
			n.DependsOn = slices.Clone(ph.deps)
		}
		p.Nodes = append(p.Nodes, n)
	}
	if name == SDLCLinear {
		p.Mode = dag.ModeLinear
	}
	return p, nil
}

// List describes every built-in template.
func List() []Info {
	var out []Info
	for _, name := range Names() {
		p, _ := Build(name, "")
		out = append(out, Info{Name: name, Description: p.Description, Mode: p.Mode, Levels: p.Levels()})
	}
	return out
}
