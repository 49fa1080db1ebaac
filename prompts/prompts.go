// Package prompts holds the built-in SDLC role prompts of agent nodes: for
// each phase a system prompt (who the agent is) and a Go text/template user
// prompt (what to do) over the run's requirement, the pipeline's params and
// the outputs of the node's dependencies. A node may replace either with
// executor.system_prompt and executor.prompt. It knows nothing of Temporal.
package prompts

import (
	"context"
	"fmt"
	"strings"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/render"
)

// Data is what prompt templates see.
type Data struct {
	// Requirement is params.requirement (empty when unset).
	Requirement string
	// Params are the pipeline's params.
	Params map[string]any
	// Inputs are the full outputs of the node's dependencies by node ID.
	Inputs map[string]string
	// Node is the node's ID, Name its display name.
	Node string
	Name string
	// Phase is the node's phase ("" for none).
	Phase string
	// Workspace says the node works in a checkout of the run's repository
	// (a coding agent): the workspace roles apply.
	Workspace bool
	// Diff is the run's changes so far (its start to the node's base), for
	// the review role in a workspace run; it may be cut.
	Diff string
}

// Role is a phase's built-in prompt.
type Role struct {
	// Title names the role, e.g. "Software architect".
	Title string
	// System is the system prompt.
	System string
	// Prompt is the user prompt template.
	Prompt string
}

// common is the part of every built-in system prompt after the role's own.
const common = ` You work in an automated software-delivery pipeline: your answer is saved
as this phase's artifact and given verbatim to the phases that depend on it.
Answer with the deliverable itself in Markdown, with no preamble and no
questions back: where something is unclear, state your assumption and go on.`

// preamble is the part of every built-in user prompt before the task.
const preamble = `# Requirement

{{if .Requirement}}{{.Requirement}}{{else}}(none given){{end}}
{{- with .Params}}

# Pipeline parameters

{{json .}}
{{- end}}
{{- range $dep, $out := .Inputs}}

# Output of the {{$dep}} phase

{{trim $out}}
{{- end}}

# Your task
`

func role(title, system, task string) Role {
	return Role{Title: title, System: system + common, Prompt: preamble + "\n" + task + "\n"}
}

var roles = map[string]Role{
	"requirements": role("Requirements analyst",
		`You are a senior requirements analyst.`,
		`Turn the requirement into a requirements specification: goal and scope,
user stories with acceptance criteria, non-functional requirements, what is
out of scope, and open assumptions.`),
	"design": role("Software architect",
		`You are a senior software architect and designer.`,
		`Design the solution for the requirements above: architecture and
components, data model, API contracts between backend and frontend, key
technical decisions with their reasons, and risks.`),
	"backend": role("Backend engineer",
		`You are a senior backend engineer.`,
		`Implement the backend described by the design above: the code (files with
their paths), the data storage, the API endpoints and their unit tests.`),
	"frontend": role("Frontend engineer",
		`You are a senior frontend engineer.`,
		`Implement the frontend described by the design above: the code (files with
their paths), the components and screens, the calls to the backend's API and
their tests.`),
	"testing": role("QA and test engineer",
		`You are a senior QA and test engineer.`,
		`Test the implementation above against the requirements: a test plan,
integration and end-to-end tests (code), the defects and gaps you find, and
whether the acceptance criteria are met.`),
	"review": role("Code reviewer",
		`You are a senior code reviewer.`,
		`Review the work above for correctness, security, maintainability and
fidelity to the requirements and design. List findings by severity with the
fix for each, and end with a verdict: approve or request changes.`),
	"deployment": role("Release and deployment engineer",
		`You are a senior release and deployment engineer.`,
		`Prepare the release of the reviewed work: build and deployment steps,
configuration and secrets needed, database migrations, a rollout and
rollback plan, monitoring, and release notes.`),
}

// workspaceCommon ends every built-in system prompt in a workspace run.
const workspaceCommon = ` You work in an automated software-delivery pipeline, in a git checkout of
the project's repository: what you leave in the checkout is committed as this
phase's work and is what the next phases start from. Do the work in the
files, keep to the project's layout and conventions, and make no questions
back: where something is unclear, decide, note your assumption in your
summary, and go on.`

// workspaceRole is a role of a workspace run: system, then the preamble
// (with the run's diff when the data has one) and the task.
func workspaceRole(title, system, task string) Role {
	return Role{Title: title, System: system + workspaceCommon,
		Prompt: preamble + "\n" + task + "\n" + diffSection}
}

// diffSection shows the run's changes so far, when the data has them.
const diffSection = `{{with .Diff}}
# The run's changes so far

` + "```diff" + `
{{.}}
` + "```" + `
{{end}}`

// workspaceRoles are the roles of the SDLC phases in a workspace run: each
// leaves its deliverable in the repository.
var workspaceRoles = map[string]Role{
	"requirements": workspaceRole("Requirements analyst",
		`You are a senior requirements analyst.`,
		`Write the requirements specification to docs/requirements.md: goal and scope,
user stories with acceptance criteria, non-functional requirements, what is
out of scope, and open assumptions.`),
	"design": workspaceRole("Software architect",
		`You are a senior software architect and designer.`,
		`Write the design to docs/design.md, from docs/requirements.md: architecture
and components, data model, and — precisely — the interfaces backend and
frontend share (API endpoints, request and response shapes, data types),
key decisions with their reasons, and risks. Add skeleton files where the
layout needs them.`),
	"backend": workspaceRole("Backend engineer",
		`You are a senior backend engineer.`,
		`Implement the backend in the repository as docs/design.md says: the code, the
data storage, the API endpoints and their unit tests, in the backend's area
only. Build it and run its tests, and fix what fails.`),
	"frontend": workspaceRole("Frontend engineer",
		`You are a senior frontend engineer.`,
		`Implement the frontend in the repository as docs/design.md says: the
components and screens and their calls to the backend's API, with their
tests, in the frontend's area only. Build it and run its tests where the
project can, and fix what fails.`),
	"testing": workspaceRole("QA and test engineer",
		`You are a senior QA and test engineer.`,
		`Test the implementation against docs/requirements.md: write the missing
integration and end-to-end tests, run the project's test command, and fix
what fails — in the code when the code is wrong, never by weakening a test.
Say in your summary which acceptance criteria are met.`),
	"review": workspaceRole("Code reviewer",
		`You are a senior code reviewer.`,
		`Review the run's changes (below) for correctness, security, maintainability
and fidelity to docs/requirements.md and docs/design.md. Write REVIEW.md:
findings by severity with the fix for each, and a last line
"Verdict: approve" or "Verdict: request changes". Change no other file.`),
	"deployment": workspaceRole("Release and deployment engineer",
		`You are a senior release and deployment engineer.`,
		`Prepare the release of the reviewed work: {{with index .Params "deploy_command"}}run
the deploy command {{json .}} and report its outcome{{else}}write DEPLOY.md with
the build and deployment steps, configuration and secrets needed, migrations,
a rollout and rollback plan, and release notes; the branch is then ready to
merge{{end}}.`),
}

// generic is the role of a node with a custom phase (or none).
var generic = role("Engineer",
	`You are a senior software engineer.`,
	`Carry out the "{{.Name}}" phase{{if .Phase}} ({{.Phase}}){{end}} of this pipeline for
the requirement, building on the outputs above.`)

// workspaceGeneric is the role of a custom phase in a workspace run.
var workspaceGeneric = workspaceRole("Engineer",
	`You are a senior software engineer.`,
	`Carry out the "{{.Name}}" phase{{if .Phase}} ({{.Phase}}){{end}} of this pipeline in the
repository, building on the work of the phases before.`)

// RoleFor returns the built-in role of a phase; a custom phase gets the
// generic engineer role.
func RoleFor(phase string) Role {
	if r, ok := roles[phase]; ok {
		return r
	}
	return generic
}

// WorkspaceRoleFor returns the built-in role of a phase in a workspace run,
// whose deliverable is in the repository.
func WorkspaceRoleFor(phase string) Role {
	if r, ok := workspaceRoles[phase]; ok {
		return r
	}
	return workspaceGeneric
}

// Render returns the system prompt and the user prompt of an agent node:
// the node's executor.system_prompt and executor.prompt when set, otherwise
// its phase's role. Both are templates over data with dag.PromptFuncs; a key
// missing from a map is an error.
func Render(node dag.Node, data Data) (system, user string, err error) {
	return RenderContext(context.Background(), node, data, render.Limits{})
}

// RenderContext is Render within lim and ctx (see package render): a
// prompt that renders more than lim.MaxBytes or for longer than
// lim.Timeout fails with a *render.LimitError, one still rendering when ctx
// ends with ctx's error, each wrapped with the field.
func RenderContext(ctx context.Context, node dag.Node, data Data, lim render.Limits) (system, user string, err error) {
	r := RoleFor(node.Phase)
	if data.Workspace {
		r = WorkspaceRoleFor(node.Phase)
	}
	if e, ok := dag.SpecOf[*dag.AgentSpec](node.Executor); ok {
		if e.SystemPrompt != "" {
			r.System = e.SystemPrompt
		}
		if e.Prompt != "" {
			r.Prompt = e.Prompt
		}
	}
	if data.Node == "" {
		data.Node = node.ID
	}
	if data.Name == "" {
		data.Name = node.DisplayName()
	}
	if data.Phase == "" {
		data.Phase = node.Phase
	}
	if data.Params == nil {
		data.Params = map[string]any{}
	}
	if data.Inputs == nil {
		data.Inputs = map[string]string{}
	}
	if data.Requirement == "" {
		data.Requirement, _ = data.Params["requirement"].(string)
	}
	if system, err = execute(ctx, "system_prompt", r.System, data, lim); err != nil {
		return "", "", err
	}
	if user, err = execute(ctx, "prompt", r.Prompt, data, lim); err != nil {
		return "", "", err
	}
	return system, user, nil
}

func execute(ctx context.Context, field, text string, data Data, lim render.Limits) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := render.Parse(field, text, dag.PromptFuncs())
	if err != nil {
		return "", fmt.Errorf("executor.%s: invalid template: %w", field, err)
	}
	out, err := render.Execute(ctx, t, data, lim)
	if err != nil {
		return "", fmt.Errorf("executor.%s: %w", field, err)
	}
	return out, nil
}
