package dag

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const repairYAML = `
name: fix
workspace:
  repo: /srv/git/app.git
nodes:
  - id: test
    executor:
      kind: command
      argv: [go, test, ./...]
      repair:
        max_rounds: 2
        agent:
          provider: command
          argv: [sh, -c, "touch fixed.txt"]
          prompt: "fix {{.Params.repair.command}}"
`

func TestParseRepair(t *testing.T) {
	p, err := Parse([]byte(repairYAML))
	require.NoError(t, err)
	require.NoError(t, p.ValidateStart())
	c, ok := SpecOf[*CommandSpec](p.Nodes[0].Executor)
	require.True(t, ok)
	require.NotNil(t, c.Repair)
	assert.Equal(t, 2, c.Repair.Rounds())
	require.NotNil(t, c.Repair.Agent)
	assert.Equal(t, ProviderCommand, c.Repair.Agent.Provider)
	assert.Equal(t, []string{"sh", "-c", "touch fixed.txt"}, c.Repair.Agent.Argv)
	assert.Equal(t, "fix {{.Params.repair.command}}", c.Repair.Agent.Prompt)

	// JSON round-trips, through Parse and through Executor's own methods.
	j, err := json.Marshal(p)
	require.NoError(t, err)
	assert.Contains(t, string(j), `"repair":{"max_rounds":2,"agent":{"provider":"command","prompt":"fix {{.Params.repair.command}}","argv":["sh","-c","touch fixed.txt"]}}`)
	back, err := Parse(j)
	require.NoError(t, err)
	assert.Equal(t, p, back)
	var viaJSON Pipeline
	require.NoError(t, json.Unmarshal(j, &viaJSON))
	assert.Equal(t, *p, viaJSON)

	// An unknown field inside repair is an error.
	_, err = Parse([]byte(`{"name":"x","nodes":[{"id":"a","executor":{"kind":"command","argv":["true"],"repair":{"agent":{"provider":"command","argv":["x"]},"rounds":2}}}]}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "rounds")
	// repair is a command field.
	_, err = Parse([]byte(`{"name":"x","nodes":[{"id":"a","executor":{"kind":"noop","repair":{"max_rounds":1}}}]}`))
	require.NoError(t, err)
}

func TestRepairDefaults(t *testing.T) {
	assert.Equal(t, 0, (*Repair)(nil).Rounds())
	assert.Equal(t, DefaultRepairRounds, (&Repair{}).Rounds())
	assert.Equal(t, "build.repair-2", RepairNodeID("build", 2))
	// The default prompts parse as prompt templates.
	var ps problems
	ps.template("prompt", DefaultRepairPrompt)
	ps.template("system_prompt", DefaultRepairSystemPrompt)
	assert.Empty(t, ps)
}

func TestValidateRepair(t *testing.T) {
	agent := &AgentSpec{Provider: ProviderCommand, Process: Process{Argv: []string{"fixer"}}}
	cmd := func(id string, r *Repair) Node {
		return Node{ID: id, Executor: NewExecutor(&CommandSpec{Process: Process{Argv: []string{"make"}}, Repair: r})}
	}
	ws := &Workspace{Repo: "/r"}
	for _, tc := range []struct {
		name   string
		ws     *Workspace
		nodes  []Node
		node   string
		fields []string // nil = valid
		msg    string
	}{
		{"valid", ws, []Node{cmd("t", &Repair{Agent: agent})}, "", nil, ""},
		{"valid max", ws, []Node{cmd("t", &Repair{MaxRounds: 10, Agent: agent})}, "", nil, ""},
		{"valid preset", ws, []Node{cmd("t", &Repair{Agent: &AgentSpec{Provider: ProviderCommand, Preset: PresetClaudeCode}})}, "", nil, ""},
		{"valid API agent", ws, []Node{cmd("t", &Repair{Agent: &AgentSpec{Provider: ProviderAnthropic, Model: "m"}})}, "", nil, ""},
		{"no workspace", nil, []Node{cmd("t", &Repair{Agent: agent})}, "t", []string{"executor.repair"}, "only a workspace run"},
		{"too many rounds", ws, []Node{cmd("t", &Repair{MaxRounds: 11, Agent: agent})}, "t", []string{"executor.repair.max_rounds"}, "between 0"},
		{"negative rounds", ws, []Node{cmd("t", &Repair{MaxRounds: -1, Agent: agent})}, "t", []string{"executor.repair.max_rounds"}, "between 0"},
		{"no agent", ws, []Node{cmd("t", &Repair{MaxRounds: 1})}, "t", []string{"executor.repair.agent"}, "is required"},
		{"agent without argv", ws, []Node{cmd("t", &Repair{Agent: &AgentSpec{Provider: ProviderCommand}})}, "t", []string{"executor.repair.agent.argv"}, "must name the agent program"},
		{"agent unknown provider", ws, []Node{cmd("t", &Repair{Agent: &AgentSpec{Provider: "gemini"}})}, "t", []string{"executor.repair.agent.provider"}, "unknown provider"},
		{"agent argv for an API", ws, []Node{cmd("t", &Repair{Agent: &AgentSpec{Provider: ProviderOpenAI, Process: Process{Argv: []string{"x"}}}})}, "t", []string{"executor.repair.agent.argv"}, "does not apply"},
		{"agent bad prompt", ws, []Node{cmd("t", &Repair{Agent: &AgentSpec{Provider: ProviderCommand, Prompt: "{{", Process: Process{Argv: []string{"x"}}}})}, "t", []string{"executor.repair.agent.prompt"}, "invalid template"},
		{"agent dir outside", ws, []Node{cmd("t", &Repair{Agent: &AgentSpec{Provider: ProviderCommand, Process: Process{Argv: []string{"x"}, Dir: "../x"}}})}, "t", []string{"executor.repair.agent.dir"}, "inside the checkout"},
		{"agent range bound", ws, []Node{cmd("t", &Repair{Agent: &AgentSpec{Provider: ProviderCommand, Prompt: "{{range 2000000}}{{end}}", Process: Process{Argv: []string{"x"}}}})}, "t", []string{"executor.repair.agent.prompt"}, ""},
		{"a node has a repair round's ID", ws, []Node{cmd("t", &Repair{MaxRounds: 2, Agent: agent}), {ID: "t.repair-2", Executor: NewExecutor(&NoopSpec{})}}, "t", []string{"executor.repair"}, `"t.repair-2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Pipeline{Name: "p", Workspace: tc.ws, Nodes: tc.nodes}
			err := p.ValidateStart()
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.True(t, errors.As(err, &ve), "got %v", err)
			var fields []string
			for _, pr := range ve.Problems {
				assert.Equal(t, tc.node, pr.Node)
				fields = append(fields, pr.Field)
			}
			assert.Equal(t, tc.fields, fields, "%v", err)
			assert.Contains(t, ve.Problems[0].Message, tc.msg)
		})
	}
}
