package dag

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Problem is one thing wrong with a pipeline, naming the node (if any) and the
// field.
type Problem struct {
	Node    string `json:"node,omitempty"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// String formats the problem as `node "x": field: message`.
func (p Problem) String() string {
	if p.Node != "" {
		return fmt.Sprintf("node %q: %s: %s", p.Node, p.Field, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.Field, p.Message)
}

// ValidationError lists every problem found in a pipeline.
type ValidationError struct {
	Problems []Problem
}

// Error joins all problems.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	noun := "problems"
	if len(parts) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("invalid pipeline (%d %s): %s", len(parts), noun, strings.Join(parts, "; "))
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Validate checks p and returns a *ValidationError listing every problem, or
// nil. It never stops at the first problem. It does not check the upper
// bounds of durations (see ValidateStart): the workflow calls it, and a run
// started before the bounds existed must replay as it ran.
func (p Pipeline) Validate() error {
	return p.validate(false)
}

// ValidateStart is Validate plus the bounds every new run must respect: the
// run's timeout at most MaxRunTimeout, a node's timeout at most the run's,
// its heartbeat_timeout at most its timeout, each of these timeouts at least
// MinTimeout, its retry intervals at most MaxRetryInterval, its
// retry.max_attempts at most MaxRetryAttempts, the pipeline's name at most
// MaxNameLength bytes, and its templates' ranges over integer literals at
// most MaxTemplateRange iterations. All problems come at once. (The workflow
// checks only Validate, so that a bound added later never fails a run
// already started.)
func (p Pipeline) ValidateStart() error {
	return p.validate(true)
}

func (p Pipeline) validate(bounds bool) error {
	v := validator{bounds: bounds}
	v.pipeline(p)
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

type validator struct {
	problems []Problem
	// bounds enables the upper bounds of durations.
	bounds bool
}

func (v *validator) add(node, field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Node: node, Field: field, Message: clip(fmt.Sprintf(format, args...))})
}

// maxProblemMessage bounds a problem's message: it quotes what was sent
// (a kind, a dependency), which can be as long as the definition.
const maxProblemMessage = 300

// clip cuts msg to maxProblemMessage bytes on a UTF-8 boundary, marking
// the cut.
func clip(msg string) string {
	if len(msg) <= maxProblemMessage {
		return msg
	}
	n := maxProblemMessage
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n] + "…"
}

// bounded reports an unparsable or negative d and, when v.bounds is set, a d
// above limit, which what names (e.g. "the run's timeout"), or one above
// zero but below least. It returns d's value, or 0 when d is empty or has a
// problem.
func (v *validator) bounded(node, field string, d Duration, least, limit time.Duration, what string) time.Duration {
	if msg := durationProblem(d); msg != "" {
		v.add(node, field, "%s", msg)
		return 0
	}
	got, _ := d.Parse()
	if v.bounds && got > limit {
		v.add(node, field, "%s exceeds %s (%s)", d, what, limit)
		return 0
	}
	if v.bounds && got > 0 && got < least {
		v.add(node, field, "%s is shorter than the minimum of %s", d, least)
		return 0
	}
	return got
}

func (v *validator) pipeline(p Pipeline) {
	if strings.TrimSpace(p.Name) == "" {
		v.add("", "name", "is required")
	} else if v.bounds && len(p.Name) > MaxNameLength {
		v.add("", "name", "longer than %d bytes (%d)", MaxNameLength, len(p.Name))
	}
	if p.Mode != "" && !slices.Contains(Modes, p.Mode) {
		v.add("", "mode", "unknown mode %q (want linear, dag_linear or dag_parallel)", p.Mode)
	}
	if p.FailurePolicy != "" && p.FailurePolicy != FailFast && p.FailurePolicy != Continue {
		v.add("", "failure_policy", "unknown policy %q (want fail_fast or continue)", p.FailurePolicy)
	}
	if p.MaxParallel < 0 {
		v.add("", "max_parallel", "must not be negative, got %d", p.MaxParallel)
	} else if p.MaxParallel > MaxParallelLimit {
		v.add("", "max_parallel", "%d exceeds the limit of %d nodes running at once", p.MaxParallel, MaxParallelLimit)
	}
	if p.Workspace != nil {
		p.Workspace.validate(v)
	}
	if v.bounds && len(p.Params) > 0 {
		if b, err := json.Marshal(p.Params); err == nil && len(b) > MaxParamsBytes {
			v.add("", "params", "%d bytes as JSON exceed the limit of %d (the requirement counts); put large inputs in the repository or a file the nodes read", len(b), MaxParamsBytes)
		}
	}
	if b := p.Budget; b != nil {
		if b.Tokens < 0 {
			v.add("", "budget.tokens", "must not be negative, got %d", b.Tokens)
		}
		if b.USD < 0 || math.IsNaN(b.USD) || math.IsInf(b.USD, 0) {
			v.add("", "budget.usd", "must be a non-negative amount, got %v", b.USD)
		} else if v.bounds && b.USD > MaxBudgetUSD {
			v.add("", "budget.usd", "%v exceeds the limit of %v", b.USD, MaxBudgetUSD)
		}
		if v.bounds && b.Tokens > MaxBudgetTokens {
			v.add("", "budget.tokens", "%d exceeds the limit of %d", b.Tokens, MaxBudgetTokens)
		}
	}
	runTimeout := v.bounded("", "timeout", p.Timeout, MinTimeout, MaxRunTimeout, "the limit")
	if runTimeout == 0 {
		runTimeout = DefaultRunTimeout
		if p.Timeout != "" {
			// Invalid (reported above): bound nodes by the limit only.
			runTimeout = MaxRunTimeout
		}
	}
	switch {
	case len(p.Nodes) == 0:
		v.add("", "nodes", "pipeline has no nodes")
		return
	case len(p.Nodes) > MaxNodes:
		// Checking each node of an oversized pipeline would only bury this
		// problem under thousands of others (and cost time and memory in
		// proportion to whatever was sent).
		v.add("", "nodes", "%d nodes exceed the limit of %d", len(p.Nodes), MaxNodes)
		return
	}

	seen := make(map[string]int, len(p.Nodes))
	for i, n := range p.Nodes {
		label := nodeLabel(i, n)
		switch {
		case n.ID == "":
			v.add(label, "id", "is required")
		case len(n.ID) > MaxIDLength:
			v.add(label, "id", "longer than %d characters", MaxIDLength)
		case !idPattern.MatchString(n.ID):
			v.add(label, "id", "may only contain letters, digits, '_', '.' and '-', starting with a letter or digit")
		}
		if first, dup := seen[n.ID]; dup && n.ID != "" {
			v.add(label, "id", "duplicate id (also node #%d)", first)
		} else {
			seen[n.ID] = i
		}
		v.node(label, n, runTimeout)
		if p.Workspace != nil {
			v.workspaceNode(label, n)
		} else if c, ok := n.Executor.Spec.(*CommandSpec); ok && c.Repair != nil {
			v.add(label, "executor.repair", "only a workspace run can repair a command: the repair is committed to the run's repository (set workspace:)")
		}
	}
	for i, n := range p.Nodes {
		if c, ok := n.Executor.Spec.(*CommandSpec); ok && c.Repair != nil && n.ID != "" {
			for k := 1; k <= min(c.Repair.Rounds(), MaxRepairRounds); k++ {
				if _, taken := seen[RepairNodeID(n.ID, k)]; taken {
					v.add(nodeLabel(i, n), "executor.repair", "node %q has the ID of this node's repair round %d", RepairNodeID(n.ID, k), k)
				}
			}
		}
	}

	idx := p.Index()
	for i, n := range p.Nodes {
		label := nodeLabel(i, n)
		deps := map[string]bool{}
		for _, dep := range n.DependsOn {
			switch {
			case deps[dep]:
				v.add(label, "depends_on", "%q is listed twice", dep)
			case dep == n.ID:
				v.add(label, "depends_on", "node depends on itself")
			default:
				if j, ok := idx[dep]; !ok {
					v.add(label, "depends_on", "unknown node %q", dep)
				} else if p.Mode == ModeLinear && j > i {
					v.add(label, "depends_on", "%q is declared after this node; linear mode runs nodes in declared order", dep)
				}
			}
			deps[dep] = true
		}
	}
	cycles, more := p.cycles(maxReportedCycles)
	for _, cycle := range cycles {
		v.add(cycle[0], "depends_on", "cycle: %s", strings.Join(cycle, " -> "))
	}
	if more > 0 {
		v.add("", "depends_on", "%d more dependency cycles not listed", more)
	}
}

// maxReportedCycles bounds the cycles Validate lists: a graph of n nodes can
// hold n cycles of length up to n, and listing them all would take memory in
// proportion to n².
const maxReportedCycles = 20

// nodeLabel names node i in problems: its ID, or "#i" when it has none.
func nodeLabel(i int, n Node) string {
	switch {
	case n.ID == "":
		return fmt.Sprintf("#%d", i)
	case len(n.ID) > MaxIDLength:
		// Not echoed whole: an ID can be as long as the definition.
		return fmt.Sprintf("#%d (%.20s…)", i, n.ID)
	}
	return n.ID
}

// node checks node n, whose timeout may not exceed runTimeout (the run's,
// with the default applied).
func (v *validator) node(id string, n Node, runTimeout time.Duration) {
	timeout := v.bounded(id, "timeout", n.Timeout, MinTimeout, runTimeout, "the run's timeout")
	if timeout == 0 {
		timeout = runTimeout
	}
	v.bounded(id, "heartbeat_timeout", n.HeartbeatTimeout, MinTimeout, timeout, "the node's timeout")
	if r := n.Retry; r != nil {
		if r.MaxAttempts < 0 {
			v.add(id, "retry.max_attempts", "must not be negative, got %d", r.MaxAttempts)
		} else if v.bounds && r.MaxAttempts > MaxRetryAttempts {
			v.add(id, "retry.max_attempts", "%d exceeds the limit of %d", r.MaxAttempts, MaxRetryAttempts)
		}
		if r.Backoff != 0 && (r.Backoff < 1 || math.IsNaN(r.Backoff)) {
			v.add(id, "retry.backoff", "must be at least 1, got %g", r.Backoff)
		}
		v.bounded(id, "retry.initial_interval", r.InitialInterval, 0, MaxRetryInterval, "the limit")
		v.bounded(id, "retry.max_interval", r.MaxInterval, 0, MaxRetryInterval, "the limit")
		for _, t := range r.NonRetryable {
			if strings.TrimSpace(t) == "" {
				v.add(id, "retry.non_retryable", "error type must not be empty")
			}
		}
	}
	v.executor(id, n.Executor)
}

func (v *validator) executor(id string, e Executor) {
	k, known := kindsByName[e.Kind]
	switch {
	case e.Kind == "":
		v.add(id, "executor.kind", "is required (one of %s)", strings.Join(Kinds, ", "))
		return
	case !known:
		v.add(id, "executor.kind", "unknown executor kind %q (one of %s)", e.Kind, strings.Join(Kinds, ", "))
		return
	}
	spec := e.Resolve()
	if spec.Kind() != e.Kind {
		v.add(id, "executor.kind", "is %q, but the executor's settings are of kind %q", e.Kind, spec.Kind())
		return
	}
	for _, p := range spec.Validate() {
		v.add(id, "executor."+p.Field, "%s", p.Message)
	}
	if v.bounds {
		for _, p := range templateRangeProblems(spec) {
			v.add(id, "executor."+p.Field, "%s", p.Message)
		}
		if h, ok := spec.(*HTTPSpec); ok {
			for _, p := range h.templateProblems() {
				v.add(id, "executor."+p.Field, "%s", p.Message)
			}
		}
	}
	var stray []string
	for name := range e.Foreign {
		if !k.owns(name) {
			stray = append(stray, name)
		}
	}
	if a, ok := spec.(fieldApplier); ok {
		for _, name := range k.setFields(spec) {
			if !a.applies(name) {
				stray = append(stray, name)
			}
		}
	}
	slices.Sort(stray)
	for _, f := range slices.Compact(stray) {
		v.add(id, "executor."+f, "does not apply to executor kind %q", e.Kind)
	}
}

// problems collects the problems of an executor spec.
type problems []Problem

func (ps *problems) add(field, format string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// duration reports an unparsable or negative duration.
func (ps *problems) duration(field string, d Duration) {
	if msg := durationProblem(d); msg != "" {
		ps.add(field, "%s", msg)
	}
}

// durationProblem describes what is wrong with d, or returns "".
func durationProblem(d Duration) string {
	got, err := d.Parse()
	switch {
	case err != nil:
		return err.Error()
	case got < 0:
		return fmt.Sprintf("must not be negative, got %s", d)
	}
	return ""
}

// absoluteHTTPURL reports whether raw is an absolute http or https URL.
func absoluteHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// cycles returns up to limit dependency cycles, each once, as a path that
// starts and ends at the same node (a -> b -> c -> a), found in declared
// order, and how many more it found. Every graph with a cycle yields at least
// one. Self and unknown dependencies are reported elsewhere and ignored here.
func (p Pipeline) cycles(limit int) (found [][]string, more int) {
	idx := p.Index()
	color := make([]int8, len(p.Nodes)) // 0 white, 1 on stack, 2 done
	var stack []int
	seen := map[string]bool{}
	var visit func(i int)
	visit = func(i int) {
		color[i] = 1
		stack = append(stack, i)
		for _, dep := range p.Nodes[i].DependsOn {
			j, ok := idx[dep]
			if !ok || j == i {
				continue
			}
			switch color[j] {
			case 0:
				visit(j)
			case 1:
				if len(found) >= limit {
					more++
					continue
				}
				start := slices.Index(stack, j)
				// The stack runs from dependents to dependencies; show the
				// cycle in execution direction: a -> b means b depends on a.
				var path []string
				for k := len(stack) - 1; k >= start; k-- {
					path = append(path, nodeLabel(stack[k], p.Nodes[stack[k]]))
				}
				key := canonicalCycle(path)
				if !seen[key] {
					seen[key] = true
					found = append(found, append(path, path[0]))
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = 2
	}
	for i := range p.Nodes {
		if color[i] == 0 {
			visit(i)
		}
	}
	return found, more
}

func canonicalCycle(path []string) string {
	least := 0
	for i, id := range path {
		if id < path[least] {
			least = i
		}
	}
	rot := append(slices.Clone(path[least:]), path[:least]...)
	return strings.Join(rot, "\x00")
}
