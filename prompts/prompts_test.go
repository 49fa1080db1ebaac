package prompts

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
)

func agentNode(id, phase string, e dag.AgentSpec) dag.Node {
	return dag.Node{ID: id, Phase: phase, Executor: dag.NewExecutor(&e)}
}

func TestRender(t *testing.T) {
	data := Data{
		Params: map[string]any{"requirement": "Build a todo app", "team": "blue"},
		Inputs: map[string]string{"requirements": "  REQ-SPEC  \n", "aaa": "first"},
	}
	for _, tc := range []struct {
		name      string
		node      dag.Node
		data      Data
		system    []string // substrings
		user      []string // substrings, in this order
		exactUser string
		exactSys  string
		wantErr   string
	}{
		{
			name:   "requirements role",
			node:   agentNode("requirements", "requirements", dag.AgentSpec{}),
			data:   Data{Params: map[string]any{"requirement": "Build a todo app"}},
			system: []string{"requirements analyst", "no preamble"},
			user:   []string{"# Requirement\n\nBuild a todo app", `{"requirement":"Build a todo app"}`, "user stories"},
		},
		{
			name:   "design sees its dependencies in order, trimmed",
			node:   agentNode("design", "design", dag.AgentSpec{}),
			data:   data,
			system: []string{"software architect"},
			user:   []string{"# Output of the aaa phase\n\nfirst", "# Output of the requirements phase\n\nREQ-SPEC\n\n# Your task", "API contracts"},
		},
		{name: "backend", node: agentNode("be", "backend", dag.AgentSpec{}), system: []string{"backend engineer"}, user: []string{"(none given)", "API endpoints"}},
		{name: "frontend", node: agentNode("fe", "frontend", dag.AgentSpec{}), system: []string{"frontend engineer"}, user: []string{"components"}},
		{name: "testing", node: agentNode("t", "testing", dag.AgentSpec{}), system: []string{"QA and test engineer"}, user: []string{"test plan"}},
		{name: "review", node: agentNode("r", "review", dag.AgentSpec{}), system: []string{"code reviewer"}, user: []string{"verdict"}},
		{name: "deployment", node: agentNode("d", "deployment", dag.AgentSpec{}), system: []string{"release and deployment engineer"}, user: []string{"rollback"}},
		{
			name:   "custom phase gets the generic role",
			node:   dag.Node{ID: "docs", Name: "Write docs", Phase: "documentation", Executor: dag.NewExecutor(&dag.AgentSpec{})},
			system: []string{"software engineer"},
			user:   []string{`Carry out the "Write docs" phase (documentation)`},
		},
		{
			name: "overrides",
			node: agentNode("design", "design", dag.AgentSpec{SystemPrompt: "You are {{.Phase}} bot.",
				Prompt: `{{.Requirement}}|{{.Params.team}}|{{index .Inputs "requirements" | trim}}|{{json .Inputs.aaa}}|{{.Node}}`}),
			data:      data,
			exactSys:  "You are design bot.",
			exactUser: `Build a todo app|blue|REQ-SPEC|"first"|design`,
		},
		{
			name:      "plain override is used verbatim",
			node:      agentNode("x", "", dag.AgentSpec{Prompt: "just do it"}),
			exactUser: "just do it",
			system:    []string{"software engineer"},
		},
		{
			name:    "missing param is an error",
			node:    agentNode("x", "", dag.AgentSpec{Prompt: "{{.Params.nope}}"}),
			wantErr: "executor.prompt",
		},
		{
			name:    "bad template",
			node:    agentNode("x", "", dag.AgentSpec{SystemPrompt: "{{.Nope"}),
			wantErr: "executor.system_prompt: invalid template",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sys, user, err := Render(tc.node, tc.data)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			for _, s := range tc.system {
				assert.Contains(t, strings.ToLower(sys), strings.ToLower(s))
			}
			if tc.exactSys != "" {
				assert.Equal(t, tc.exactSys, sys)
			}
			if tc.exactUser != "" {
				assert.Equal(t, tc.exactUser, user)
			}
			at := 0
			for _, s := range tc.user {
				i := strings.Index(user[at:], s)
				require.GreaterOrEqual(t, i, 0, "%q not found (in order) in:\n%s", s, user)
				at += i + len(s)
			}
			assert.NotContains(t, user, "<no value>")
		})
	}
}

func TestEveryPhaseHasARole(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range dag.Phases {
		r := RoleFor(p)
		assert.NotEqual(t, generic.Title, r.Title, p)
		assert.False(t, seen[r.Title], "duplicate role %q", r.Title)
		seen[r.Title] = true
	}
}

func TestWorkspaceRoles(t *testing.T) {
	node := dag.Node{ID: "design", Phase: "design", Executor: dag.NewExecutor(&dag.AgentSpec{})}
	system, user, err := Render(node, Data{Requirement: "a todo app", Workspace: true})
	require.NoError(t, err)
	assert.Contains(t, system, "git checkout")
	assert.Contains(t, user, "docs/design.md")
	assert.NotContains(t, user, "changes so far", "no diff given, no diff section")

	review := dag.Node{ID: "review", Phase: "review", Executor: dag.NewExecutor(&dag.AgentSpec{})}
	_, user, err = Render(review, Data{Workspace: true, Diff: "+++ b/x.go"})
	require.NoError(t, err)
	assert.Contains(t, user, "REVIEW.md")
	assert.Contains(t, user, "```diff\n+++ b/x.go\n```")

	deploy := dag.Node{ID: "ship", Phase: "deployment", Executor: dag.NewExecutor(&dag.AgentSpec{})}
	_, user, err = Render(deploy, Data{Workspace: true, Params: map[string]any{"deploy_command": "make deploy"}})
	require.NoError(t, err)
	assert.Contains(t, user, `run
the deploy command "make deploy"`)

	_, user, err = Render(deploy, Data{Workspace: true})
	require.NoError(t, err, "no deploy_command param")
	assert.Contains(t, user, "DEPLOY.md")

	// Without a workspace, the roles answer in text as before.
	_, user, err = Render(node, Data{Requirement: "a todo app"})
	require.NoError(t, err)
	assert.NotContains(t, user, "docs/design.md")
}
