package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
)

// A command's repair agent is checked as an agent node, its problems under
// executor.repair.agent.*.
func TestCheckNodeChecksTheRepairAgent(t *testing.T) {
	pol, err := Parse([]byte(`commands: ["go", "claude"]`))
	require.NoError(t, err)
	repaired := func(agent dag.AgentSpec) dag.Node {
		c := cmd("go", "test", "./...")
		c.Repair = &dag.Repair{Agent: &agent}
		return node("t", c)
	}
	assert.Empty(t, pol.CheckNode(repaired(dag.AgentSpec{Provider: dag.ProviderCommand, Preset: dag.PresetClaudeCode})))
	ps := pol.CheckNode(repaired(dag.AgentSpec{Provider: dag.ProviderCommand, Process: dag.Process{Argv: []string{"sh", "-c", "id"}}}))
	require.Len(t, ps, 1)
	assert.Equal(t, "t", ps[0].Node)
	assert.Equal(t, "executor.repair.agent.argv", ps[0].Field)
	assert.Contains(t, ps[0].Message, `program "sh" is not allowed`)
}
