package dag

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWorkspaceValidation(t *testing.T) {
	cmd := func(dir string) Node {
		return Node{ID: "c", Executor: NewExecutor(&CommandSpec{Process: Process{Argv: []string{"true"}, Dir: dir}})}
	}
	for _, tc := range []struct {
		name  string
		ws    Workspace
		node  Node
		field string // "" = valid
		msg   string
	}{
		{"local path", Workspace{Repo: "/srv/git/app.git"}, cmd(""), "", ""},
		{"file URL, tag", Workspace{Repo: "file:///srv/git/app.git", Ref: "v1.2"}, cmd("sub/dir"), "", ""},
		{"https, SHA, branch", Workspace{Repo: "https://example.com/a/b.git", Ref: "0123abcd", Branch: "feature/{{.WorkflowID}}"}, noop("a"), "", ""},
		{"scp-like", Workspace{Repo: "git@github.com:org/app.git"}, noop("a"), "", ""},
		{"create local", Workspace{Repo: "/tmp/new.git", Create: true}, noop("a"), "", ""},
		{"ssh user", Workspace{Repo: "ssh://git@example.com/app.git"}, noop("a"), "", ""},
		{"https token", Workspace{Repo: "https://x-token:s3cret@example.com/app.git"}, noop("a"), "workspace.repo", "must not hold credentials"},
		{"https user", Workspace{Repo: "https://ghp_abc@example.com/app.git"}, noop("a"), "workspace.repo", "must not hold credentials"},
		{"dot segments in a URL", Workspace{Repo: "https://example.com/acme/../evil.git"}, noop("a"), "workspace.repo", "path segment"},
		{"no repo", Workspace{}, noop("a"), "workspace.repo", "is required"},
		{"relative repo", Workspace{Repo: "app.git"}, noop("a"), "workspace.repo", "neither an absolute path nor a git URL"},
		{"option injection", Workspace{Repo: "--upload-pack=touch /tmp/x"}, noop("a"), "workspace.repo", "must not start with '-'"},
		{"unclean path", Workspace{Repo: "/srv/../etc"}, noop("a"), "workspace.repo", "not a clean path"},
		{"create a URL", Workspace{Repo: "https://example.com/a.git", Create: true}, noop("a"), "workspace.create", "only a local path"},
		{"ref with ..", Workspace{Repo: "/r", Ref: "main..x"}, noop("a"), "workspace.ref", "not a valid git ref"},
		{"ref option", Workspace{Repo: "/r", Ref: "--all"}, noop("a"), "workspace.ref", "must not start with '-'"},
		{"branch with space", Workspace{Repo: "/r", Branch: "my branch"}, noop("a"), "workspace.branch", "not a valid git ref"},
		{"branch refs/", Workspace{Repo: "/r", Branch: "refs/heads/x"}, noop("a"), "workspace.branch", "without refs/"},
		{"branch with a template", Workspace{Repo: "/r", Branch: "maestro/{{.Bad"}, noop("a"), "workspace.branch", "not a template"},
		{"dir outside the checkout", Workspace{Repo: "/r"}, cmd("../up"), "executor.dir", "relative path inside the checkout"},
		{"absolute dir", Workspace{Repo: "/r"}, cmd("/etc"), "executor.dir", "relative path inside the checkout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := tc.ws
			p := Pipeline{Name: "p", Workspace: &ws, Nodes: []Node{tc.node}}
			err := p.ValidateStart()
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			var ve *ValidationError
			require.True(t, errors.As(err, &ve), "got %v", err)
			require.Len(t, ve.Problems, 1, "%v", err)
			assert.Equal(t, tc.field, ve.Problems[0].Field)
			assert.Contains(t, ve.Problems[0].Message, tc.msg)
		})
	}
	// Without a workspace a node's dir may be anything, as before.
	require.NoError(t, Pipeline{Name: "p", Nodes: []Node{cmd("/etc")}}.Validate())
}

func TestRefSafe(t *testing.T) {
	for in, want := range map[string]string{
		"run-1":          "run-1",
		"a:b":            "a%3Ab",
		"x@y~z":          "x%40y%7Ez",
		"a..b":           "a%2E%2Eb",
		"build.lock":     "build%2Elock",
		"v1.2":           "v1.2",
		"100%":           "100%25",
		"":               "",
		"with space/and": "with%20space%2Fand",
	} {
		assert.Equal(t, want, RefSafe(in), "RefSafe(%q)", in)
	}
	assert.NotEqual(t, RefSafe("a:b"), RefSafe("a%3Ab"), "different IDs, different refs")
	assert.Equal(t, "refs/maestro/run%3A1/build", NodeRef("run:1", "build"))
	assert.Equal(t, "maestro/run%3A1", Workspace{Repo: "/r"}.BranchFor("run:1"))
	assert.Equal(t, "HEAD", Workspace{}.RefOrDefault())
}

func TestParseWorkspace(t *testing.T) {
	p, err := Parse([]byte("name: p\nworkspace:\n  repo: /srv/git/app.git\n  ref: main\nnodes:\n  - id: a\n    executor: {kind: noop}\n"))
	require.NoError(t, err)
	require.NotNil(t, p.Workspace)
	assert.Equal(t, Workspace{Repo: "/srv/git/app.git", Ref: "main"}, *p.Workspace)
	_, err = Parse([]byte("name: p\nworkspace: {repository: /x}\nnodes: [{id: a, executor: {kind: noop}}]\n"))
	require.ErrorIs(t, err, ErrSyntax)
	assert.Contains(t, err.Error(), "repository")
}

func TestAgentPresetValidation(t *testing.T) {
	agent := func(s AgentSpec) Pipeline {
		return Pipeline{Name: "p", Nodes: []Node{{ID: "a", Executor: NewExecutor(&s)}}}
	}
	require.NoError(t, agent(AgentSpec{Provider: ProviderCommand, Preset: PresetClaudeCode}).Validate())
	for _, tc := range []struct {
		spec       AgentSpec
		field, msg string
	}{
		{AgentSpec{Provider: ProviderCommand, Preset: "cursor"}, "executor.preset", "unknown preset"},
		{AgentSpec{Provider: ProviderCommand, Preset: PresetCodex, Process: Process{Argv: []string{"codex"}}}, "executor.argv", "a preset or argv"},
		{AgentSpec{Provider: ProviderAnthropic, Preset: PresetAider}, "executor.preset", ""},
	} {
		var ve *ValidationError
		require.ErrorAs(t, agent(tc.spec).Validate(), &ve, "%+v", tc.spec)
		assert.Equal(t, tc.field, ve.Problems[0].Field)
		assert.Contains(t, ve.Problems[0].Message, tc.msg)
	}
	assert.Equal(t, []string{"codex", "exec", "--model", "m", "--json", "--full-auto", "--skip-git-repo-check", "-"},
		(&AgentSpec{Preset: PresetCodex, Model: "m"}).CommandArgv())
}
