package policy

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/maestrohq/maestro/dag"
)

// Check returns every node of p the policy forbids, as a
// *dag.ValidationError, or nil.
func (p *Policy) Check(pl dag.Pipeline) error {
	var ps []dag.Problem
	if w := pl.Workspace; w != nil && w.Repo != "" && !p.RepoAllowed(w.Repo) {
		ps = append(ps, dag.Problem{Field: "workspace.repo", Message: p.RepoDenial(w.Repo)})
	}
	for _, n := range pl.Nodes {
		ps = append(ps, p.CheckNode(n)...)
	}
	if len(ps) == 0 {
		return nil
	}
	return &dag.ValidationError{Problems: ps}
}

// CheckNode returns what the policy forbids of n, each problem naming the
// node, the field and the rule. Destinations behind templates or host names
// are checked again when the node connects.
func (p *Policy) CheckNode(n dag.Node) []dag.Problem {
	var ps []dag.Problem
	add := func(field, format string, args ...any) {
		ps = append(ps, dag.Problem{Node: n.ID, Field: "executor." + field, Message: fmt.Sprintf(format, args...)})
	}
	kind := n.Executor.Kind
	if !p.KindAllowed(kind) {
		ps = append(ps, dag.Problem{Node: n.ID, Field: "executor.kind",
			Message: fmt.Sprintf("executor kind %q is not allowed by the worker policy (allowed: %s)", kind, list(p.Kinds))})
	}
	process := func(proc dag.Process) {
		if len(proc.Argv) > 0 && !p.CommandAllowed(proc.Argv) {
			add("argv", "program %q is not allowed%s by the worker policy (allowed: %s)", proc.Argv[0], argsNote(p, proc.Argv), p.commandList())
		}
		p.checkEnvNames(add, "pass_env", proc.PassEnv)
		if !slices.Contains(p.commandPrograms(), Any) {
			for _, k := range slices.Sorted(maps.Keys(proc.Env)) {
				if u := strings.ToUpper(k); u == "PATH" || strings.HasPrefix(u, "LD_") || strings.HasPrefix(u, "DYLD_") {
					add("env", "variable %q decides which program runs: it cannot be set while the worker policy limits commands", k)
				}
			}
		}
	}
	switch s := n.Executor.Spec.(type) {
	case *dag.CommandSpec:
		process(s.Process)
		if r := s.Repair; r != nil && r.Agent != nil {
			// The repair agent runs as an agent node of its own.
			for _, pr := range p.CheckNode(dag.Node{ID: n.ID, Executor: dag.NewExecutor(r.Agent)}) {
				pr.Field = "executor.repair.agent." + strings.TrimPrefix(pr.Field, "executor.")
				ps = append(ps, pr)
			}
		}
	case *dag.AgentSpec:
		if s.Provider == dag.ProviderCommand {
			proc := s.Process
			proc.Argv = s.CommandArgv()
			process(proc)
		}
		if s.APIKeyEnv != "" {
			p.checkEnvNames(add, "api_key_env", []string{s.APIKeyEnv})
		}
		if s.BaseURL != "" {
			if u, err := url.Parse(s.BaseURL); err == nil {
				if err := p.Agent.CheckURL(u, "agent"); err != nil {
					add("base_url", "%s", denial(err))
				}
			}
		}
	case *dag.HTTPSpec:
		if !strings.Contains(s.URL, "{{") {
			if u, err := url.Parse(s.URL); err == nil {
				if err := p.HTTP.CheckURL(u, "http"); err != nil {
					add("url", "%s", denial(err))
				}
			}
		}
		fields := map[string]string{"url": s.URL, "body": s.Body}
		for k, v := range s.Headers {
			fields["headers."+k] = v
		}
		for _, f := range slices.Sorted(maps.Keys(fields)) {
			names, computed := templateEnvNames(fields[f])
			if computed && !slices.Contains(p.Env, Any) {
				add(f, "{{env}} with a computed name is not allowed by the worker policy (only literal names: {{env \"X\"}})")
			}
			p.checkEnvNames(add, f, names)
		}
	}
	return ps
}

// denial is a DeniedError's text.
func denial(err error) string { return err.Error() }

func (p *Policy) checkEnvNames(add func(string, string, ...any), field string, names []string) {
	for _, name := range names {
		switch {
		case Reserved(name):
			add(field, "variable %q is not readable by pipelines: MAESTRO_* and TEMPORAL_* variables never are, whatever the worker policy says", name)
		case !p.EnvAllowed(name):
			add(field, "variable %q is not readable by the worker policy (allowed: %s)", name, list(p.Env))
		}
	}
}

// commandPrograms are the allowed programs' names.
func (p *Policy) commandPrograms() []string {
	out := make([]string, len(p.Commands))
	for i, c := range p.Commands {
		out[i] = c.Program
	}
	return out
}

func (p *Policy) commandList() string {
	cmds := make([]string, len(p.Commands))
	for i, c := range p.Commands {
		cmds[i] = c.String()
	}
	return list(cmds)
}

// argsNote explains a refusal of an allowed program with other arguments.
func argsNote(p *Policy, argv []string) string {
	for _, c := range p.Commands {
		if c.Program == argv[0] {
			return " with these arguments"
		}
	}
	return ""
}

// templateEnvNames returns the variable names text's {{env "X"}} calls
// read, and whether some call's name is computed rather than a literal.
func templateEnvNames(text string) (names []string, computed bool) {
	if !strings.Contains(text, "{{") {
		return nil, false
	}
	t, err := template.New("x").Funcs(template.FuncMap{"env": func(string) string { return "" }, "json": func(any) string { return "" }}).Parse(text)
	if err != nil || t.Tree == nil {
		return nil, false
	}
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for i, a := range n.Args {
				if id, ok := a.(*parse.IdentifierNode); ok && id.Ident == "env" {
					if i == 0 && len(n.Args) > 1 {
						if s, ok := n.Args[1].(*parse.StringNode); ok && len(n.Args) == 2 {
							names = append(names, s.Text)
							continue
						}
					}
					computed = true
				}
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			walk(tt.Tree.Root)
		}
	}
	return names, computed
}
