package runs

import (
	"os/exec"
	"slices"
	"strings"

	"github.com/maestrohq/maestro/dag"
)

// VerifyNodeID is the node a template run in a workspace gets when it has a
// test command: it runs the project's tests after the testing phase, and an
// agent repairs what fails (dag.Repair), before the review.
const VerifyNodeID = "verify"

// TestCommandParam is the param that gives a template run's test command,
// split on white space (no shell), e.g. "go test ./..." or "npm test".
const TestCommandParam = "test_command"

// devTestCommand is the test command of the template runs `maestro dev`
// gives a repository of their own, when this machine has Go: the Go tests,
// if the project is a Go module (the simulated phases build one).
var devTestCommand = []string{"sh", "-c", "if [ -f go.mod ]; then go test ./...; else echo 'no go.mod: no Go tests to run'; fi"}

// testCommand returns a template run's test command: params.test_command,
// else, for a run in a repository of dev's own making (created), dev's.
func testCommand(p *dag.Pipeline, devRepo bool) []string {
	if cmd, ok := p.Params[TestCommandParam].(string); ok && strings.TrimSpace(cmd) != "" {
		return strings.Fields(cmd)
	}
	if devRepo {
		if _, err := exec.LookPath("go"); err == nil {
			return slices.Clone(devTestCommand)
		}
	}
	return nil
}

// addVerify adds the verify node to a template's pipeline: argv run after
// the testing phase, repaired by an agent (simulated on a worker without an
// agent provider) up to three rounds, and awaited by the nodes that await
// testing. A pipeline without a testing node, or with a verify node, is
// left as it is.
func addVerify(p *dag.Pipeline, argv []string) {
	idx := p.Index()
	if _, ok := idx[VerifyNodeID]; ok || len(argv) == 0 {
		return
	}
	at, ok := idx["testing"]
	if !ok {
		return
	}
	verify := dag.Node{
		ID: VerifyNodeID, Name: "Run the tests", Phase: "testing", DependsOn: []string{"testing"},
		Executor: dag.NewExecutor(&dag.CommandSpec{
			Process: dag.Process{Argv: argv},
			Repair: &dag.Repair{MaxRounds: 3, Agent: &dag.AgentSpec{
				SimulatedOutput: "Fixed what made the tests fail (simulated)",
			}},
		}),
	}
	nodes := make([]dag.Node, 0, len(p.Nodes)+1)
	for i, n := range p.Nodes {
		if slices.Contains(n.DependsOn, "testing") {
			n.DependsOn = append(slices.Clone(n.DependsOn), VerifyNodeID)
		}
		nodes = append(nodes, n)
		if i == at {
			nodes = append(nodes, verify)
		}
	}
	p.Nodes = nodes
}
