// Package runs is the one place where Maestro builds, starts, inspects and
// controls pipeline runs. The maestro CLI, the REST API and the dev command
// all call it, so a run started from any of them is the same run.
package runs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/templates"
)

// ErrInvalidRequest marks a start request that is wrong in itself (as opposed
// to a pipeline with problems, reported as *dag.ValidationError, or an unknown
// template, reported as templates.ErrUnknown).
var ErrInvalidRequest = errors.New("invalid request")

// StartRequest asks for a run of a template or of an inline DAG.
type StartRequest struct {
	// Template names a built-in template; exclusive with DAG.
	Template string `json:"template,omitempty"`
	// DAG is an inline pipeline; exclusive with Template.
	DAG *dag.Pipeline `json:"dag,omitempty"`
	// Requirement becomes params.requirement.
	Requirement string `json:"requirement,omitempty"`
	// Mode, MaxParallel, Timeout and FailurePolicy override the pipeline's.
	Mode          dag.Mode          `json:"mode,omitempty"`
	MaxParallel   int               `json:"max_parallel,omitempty"`
	Timeout       dag.Duration      `json:"timeout,omitempty"`
	FailurePolicy dag.FailurePolicy `json:"failure_policy,omitempty"`
	// Params are merged over the pipeline's params.
	Params map[string]any `json:"params,omitempty"`
	// ID is the workflow ID (see ValidateID). Starting twice with the same
	// ID and request returns the same run, which makes retried requests
	// safe; the same ID with a different request is ErrIdempotencyConflict.
	ID string `json:"id,omitempty"`
	// Workspace sets the pipeline's workspace, or overrides the fields it
	// gives (repo, ref, branch) of the pipeline's.
	Workspace *dag.Workspace `json:"workspace,omitempty"`
	// WorkflowType is the original system's way to name a template:
	// "parallel" (sdlc-parallel) or "linear" (sdlc-linear), see
	// WorkflowTypes; exclusive with Template and DAG.
	WorkflowType string `json:"workflow_type,omitempty"`
	// Budget sets the run's budget, or overrides the limits it gives
	// (tokens, usd) of the pipeline's.
	Budget *dag.Budget `json:"budget,omitempty"`
}

// WorkflowTypes maps the original system's workflow_type values onto
// built-in templates.
var WorkflowTypes = map[string]string{
	"parallel": templates.SDLCParallel,
	"linear":   templates.SDLCLinear,
}

// workflowTypeNames are WorkflowTypes' keys, sorted.
func workflowTypeNames() []string { return slices.Sorted(maps.Keys(WorkflowTypes)) }

// resolveWorkflowType turns req.WorkflowType into req.Template. Together with
// a template or a DAG it is a *FieldError wrapping ErrInvalidRequest; an
// unknown value is a *FieldError wrapping templates.ErrUnknown.
func resolveWorkflowType(req StartRequest) (StartRequest, error) {
	wt := strings.TrimSpace(req.WorkflowType)
	if wt == "" {
		return req, nil
	}
	if req.Template != "" || req.DAG != nil {
		return req, &FieldError{Field: "workflow_type", Message: "give one of workflow_type, template or dag, not several"}
	}
	t, ok := WorkflowTypes[strings.ToLower(wt)]
	if !ok {
		return req, &FieldError{Field: "workflow_type", Err: templates.ErrUnknown, Allowed: workflowTypeNames(),
			Message: fmt.Sprintf("unknown workflow_type %.100q (want %s)", wt, strings.Join(workflowTypeNames(), " or "))}
	}
	req.Template, req.WorkflowType = t, ""
	return req, nil
}

// Build turns a request into the workflow input: it picks the template or
// the DAG, applies overrides and defaultMode (for pipelines that name no
// mode), and validates the result. It returns every validation problem at
// once as *dag.ValidationError. Whether a template's phases run agents or
// are simulated is up to the worker that runs them (see templates.Build).
func Build(req StartRequest, defaultMode dag.Mode) (*run.Input, error) {
	req, err := resolveWorkflowType(req)
	if err != nil {
		return nil, err
	}
	var p *dag.Pipeline
	switch {
	case req.Template != "" && req.DAG != nil:
		return nil, fmt.Errorf("%w: give either template or dag, not both", ErrInvalidRequest)
	case req.Template != "":
		t, err := templates.Build(req.Template, req.Requirement)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(req.Requirement) == "" {
			if r, _ := req.Params["requirement"].(string); strings.TrimSpace(r) == "" {
				return nil, &FieldError{Field: "requirement", Message: fmt.Sprintf("is required: what template %s builds", req.Template)}
			}
		}
		p = t
	case req.DAG != nil:
		cp := *req.DAG
		cp.Nodes = append([]dag.Node(nil), req.DAG.Nodes...)
		cp.Params = maps.Clone(req.DAG.Params)
		p = &cp
	default:
		return nil, fmt.Errorf("%w: give a template (one of %v) or a dag", ErrInvalidRequest, templates.Names())
	}
	if req.Mode != "" {
		p.Mode = req.Mode
	}
	if p.Mode == "" {
		p.Mode = defaultMode
	}
	if p.Mode == "" {
		p.Mode = dag.ModeLinear
	}
	if req.MaxParallel != 0 {
		p.MaxParallel = req.MaxParallel
	}
	if req.Timeout != "" {
		p.Timeout = req.Timeout
	}
	if req.FailurePolicy != "" {
		p.FailurePolicy = req.FailurePolicy
	}
	if w := req.Workspace; w != nil {
		var ws dag.Workspace
		if p.Workspace != nil {
			ws = *p.Workspace
		}
		if w.Repo != "" {
			ws.Repo, ws.Create = w.Repo, w.Create
		}
		if w.Ref != "" {
			ws.Ref = w.Ref
		}
		if w.Branch != "" {
			ws.Branch = w.Branch
		}
		p.Workspace = &ws
	}
	if b := req.Budget; b != nil {
		var nb dag.Budget
		if p.Budget != nil {
			nb = *p.Budget
		}
		if b.Tokens != 0 {
			nb.Tokens = b.Tokens
		}
		if b.USD != 0 {
			nb.USD = b.USD
		}
		p.Budget = &nb
	}
	if len(req.Params) > 0 || req.Requirement != "" {
		if p.Params == nil {
			p.Params = map[string]any{}
		}
		maps.Copy(p.Params, req.Params)
		if req.Requirement != "" {
			p.Params["requirement"] = req.Requirement
		}
	}
	if req.Template != "" && p.Workspace != nil {
		addVerify(p, testCommand(p, false))
	}
	if err := p.ValidateStart(); err != nil {
		return nil, err
	}
	return &run.Input{Pipeline: *p, Template: req.Template}, nil
}
