package dag

import (
	"maps"
	"slices"
	"text/template/parse"
)

// MaxTemplateRange bounds the iterations of a template's ranges over integer
// literals ({{range 1000}}), nested ones multiplied. More could only write
// past the worker's template output cap or spin without writing, which the
// worker stops at its template time cap; refusing them at start says so
// at once.
const MaxTemplateRange = 1_000_000

// templated is implemented by specs with templated fields.
type templated interface {
	// templates returns the spec's templates by field name (without the
	// "executor." prefix).
	templates() map[string]string
}

// templates returns the URL, the headers and the body.
func (s *HTTPSpec) templates() map[string]string {
	t := map[string]string{"url": s.URL, "body": s.Body}
	for name, v := range s.Headers {
		t["headers."+name] = v
	}
	return t
}

// templates returns the prompts.
func (s *AgentSpec) templates() map[string]string {
	return map[string]string{"prompt": s.Prompt, "system_prompt": s.SystemPrompt}
}

// templates returns the repair agent's prompts.
func (s *CommandSpec) templates() map[string]string {
	if s.Repair == nil || s.Repair.Agent == nil {
		return nil
	}
	return map[string]string{"repair.agent.prompt": s.Repair.Agent.Prompt, "repair.agent.system_prompt": s.Repair.Agent.SystemPrompt}
}

// templateRangeProblems reports, by field in name order, the templates of
// spec whose ranges over integer literals exceed MaxTemplateRange. A
// template that does not parse is left to the other checks (or to the
// worker).
func templateRangeProblems(spec ExecutorSpec) []Problem {
	t, ok := spec.(templated)
	if !ok {
		return nil
	}
	fields := t.templates()
	var ps problems
	for _, field := range slices.Sorted(maps.Keys(fields)) {
		text := fields[field]
		if text == "" {
			continue
		}
		trees := map[string]*parse.Tree{}
		tr := parse.New(field)
		tr.Mode = parse.SkipFuncCheck
		if _, err := tr.Parse(text, "", "", trees); err != nil {
			continue
		}
		worst := int64(0)
		for _, name := range slices.Sorted(maps.Keys(trees)) {
			if tree := trees[name]; tree != nil {
				worst = max(worst, rangeIterations(tree.Root, 1))
			}
		}
		if worst > MaxTemplateRange {
			ps.add(field, "ranges over %d iterations, more than the limit of %d", worst, MaxTemplateRange)
		}
	}
	return ps
}

// rangeIterations returns the most iterations any range over an integer
// literal within list runs, given outer iterations of the enclosing ones
// (saturating instead of overflowing).
func rangeIterations(list *parse.ListNode, outer int64) int64 {
	if list == nil {
		return 0
	}
	worst := int64(0)
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.IfNode:
			worst = max(worst, rangeIterations(n.List, outer), rangeIterations(n.ElseList, outer))
		case *parse.WithNode:
			worst = max(worst, rangeIterations(n.List, outer), rangeIterations(n.ElseList, outer))
		case *parse.RangeNode:
			inner := outer
			if k, ok := intLiteral(n.Pipe); ok && k > 0 {
				inner = saturatingMul(outer, k)
				worst = max(worst, inner)
			}
			worst = max(worst, rangeIterations(n.List, inner), rangeIterations(n.ElseList, outer))
		case *parse.ListNode:
			worst = max(worst, rangeIterations(n, outer))
		}
	}
	return worst
}

// intLiteral returns the integer a pipeline of one literal is.
func intLiteral(p *parse.PipeNode) (int64, bool) {
	if p == nil || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return 0, false
	}
	num, ok := p.Cmds[0].Args[0].(*parse.NumberNode)
	if !ok || !num.IsInt {
		return 0, false
	}
	return num.Int64, true
}

func saturatingMul(a, b int64) int64 {
	const limit = int64(1) << 62
	if a > limit/b {
		return limit
	}
	return a * b
}
