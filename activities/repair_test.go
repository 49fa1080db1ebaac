package activities

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// A repair agent's prompts see the failure as .Params.repair, beside the
// pipeline's params.
func TestRepairAgentSeesTheFailure(t *testing.T) {
	h := newHarness(t)
	code := 3
	node := dag.Node{ID: "t.repair-1", Executor: dag.NewExecutor(&dag.AgentSpec{
		Provider: dag.ProviderCommand, Process: dag.Process{Argv: []string{"cat"}}, SystemPrompt: "sys",
		Prompt: `{{.Params.team}}|{{.Params.repair.node}}|{{.Params.repair.round}}/{{.Params.repair.max_rounds}}|{{.Params.repair.command}}|{{.Params.repair.exit_code}}|{{.Params.repair.output_tail}}|{{.Params.repair.error}}`,
	})}
	res := h.mustRun(node, withParams(map[string]any{"team": "core", "repair": "hidden"}), func(in *run.NodeInput) {
		in.Repair = &run.RepairContext{Node: "t", Round: 1, MaxRounds: 3, Command: "make test", ExitCode: &code, OutputTail: "boom", Error: "exit code 3: boom"}
	})
	assert.Equal(t, "sys\n\ncore|t|1/3|make test|3|boom|exit code 3: boom", res.Output)

	// The default prompt renders without an exit code too.
	node.Executor.Spec.(*dag.AgentSpec).Prompt = dag.DefaultRepairPrompt
	res = h.mustRun(node, func(in *run.NodeInput) {
		in.Repair = &run.RepairContext{Node: "t", Round: 2, MaxRounds: 2, Command: "make", Error: "make: not found"}
	})
	assert.Contains(t, res.Output, "Exit code: unknown")
	assert.Contains(t, res.Output, "repair round 2 of 2")
}

// A repair agent that answers in text leaves no answer file in the
// repository; other agents do.
func TestRepairAgentWritesNoAnswer(t *testing.T) {
	a := New(Config{})
	dir := t.TempDir()
	in := run.NodeInput{Node: dag.Node{ID: "t.repair-1", Executor: dag.NewExecutor(&dag.AgentSpec{Provider: dag.ProviderOpenAI})},
		Workspace: &run.NodeWorkspace{Dir: dir}, Repair: &run.RepairContext{Node: "t", Round: 1}}
	require.NoError(t, a.writeAnswer(in, run.NodeResult{Output: "fixed it", Simulated: true}))
	_, err := os.Stat(filepath.Join(dir, AnswerDir))
	assert.True(t, os.IsNotExist(err), "no answer file: %v", err)
	fixed, err := os.ReadFile(filepath.Join(dir, "todo", "todo.go"))
	require.NoError(t, err, "a simulated repair writes the sample project's fix")
	assert.Contains(t, string(fixed), "title = strings.TrimSpace(title)")

	// Another simulated agent of a custom phase leaves its answer.
	in.Repair = nil
	require.NoError(t, a.writeAnswer(in, run.NodeResult{Output: "fixed it", Simulated: true}))
	got, err := os.ReadFile(filepath.Join(dir, AnswerDir, "t.repair-1.md"))
	require.NoError(t, err)
	assert.Equal(t, "fixed it", string(got))
}
