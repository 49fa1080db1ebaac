// Package render executes Go text/templates within bounds: a cap on the
// bytes they write and a cap on their time, besides their context. It
// imports nothing of Maestro's.
//
// text/template cannot be interrupted, and a template can loop without
// writing anything ({{range 1000000000000}}{{end}}) or recurse through
// {{template}} calls. Execute therefore rewrites the parsed template before
// running it: every range body and every template's body starts with a call
// to a guard function, which fails once the context is done or the time cap
// has passed. Those are the only ways a template repeats work, so execution
// stops within one iteration of either, in the calling goroutine: nothing
// goes on running after Execute returns. Output goes to a writer that fails
// once the byte cap is reached, which stops a range that writes at once.
package render

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"text/template"
	"text/template/parse"
	"time"
)

// Defaults for Limits' zero values.
const (
	DefaultMaxBytes = 1 << 20
	DefaultTimeout  = 5 * time.Second
)

// guardName is the guard function's name in instrumented templates. A
// template that calls it itself only adds a check.
const guardName = "maestroTemplateGuard"

// Limits bound one execution.
type Limits struct {
	// MaxBytes caps the output; 0 or less means DefaultMaxBytes.
	MaxBytes int
	// Timeout caps the execution's time; 0 or less means DefaultTimeout.
	Timeout time.Duration
}

// WithDefaults returns l with its zero values replaced by the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	return l
}

// LimitError says that an execution went over one of its Limits.
type LimitError struct {
	// Reason says which limit, e.g. "output exceeds 1048576 bytes".
	Reason string
}

// Error returns the reason.
func (e *LimitError) Error() string { return "template " + e.Reason }

// errStopped is what the guard returns once execution must stop.
var errStopped = errors.New("template execution stopped")

// errTooLarge is what the capped writer returns once the cap is reached.
var errTooLarge = errors.New("template output too large")

// Funcs returns funcs plus a placeholder of the guard, which templates that
// Execute runs must be parsed with (Execute binds the real guard).
func Funcs(funcs template.FuncMap) template.FuncMap {
	m := make(template.FuncMap, len(funcs)+1)
	for k, v := range funcs {
		m[k] = v
	}
	m[guardName] = func() (string, error) { return "", nil }
	return m
}

// Parse parses text as a template named name with funcs (and the guard, see
// Funcs) and missing map keys as errors.
func Parse(name, text string, funcs template.FuncMap) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(Funcs(funcs)).Parse(text)
}

// Execute runs t, parsed with Funcs, over data within lim and ctx, and
// returns its output. It returns a *LimitError when the output would exceed
// lim.MaxBytes or the execution lim.Timeout, ctx's error (wrapped) when ctx
// ended first, and the template's own error otherwise. Execute modifies t
// (it instruments it); t must not be executed concurrently.
func Execute(ctx context.Context, t *template.Template, data any, lim Limits) (string, error) {
	lim = lim.WithDefaults()
	var stop atomic.Bool
	var timedOut atomic.Bool
	timer := time.AfterFunc(lim.Timeout, func() { timedOut.Store(true); stop.Store(true) })
	defer timer.Stop()
	unwatch := context.AfterFunc(ctx, func() { stop.Store(true) })
	defer unwatch()

	t.Funcs(template.FuncMap{guardName: func() (string, error) {
		if stop.Load() {
			return "", errStopped
		}
		return "", nil
	}})
	if err := instrument(t); err != nil {
		return "", err
	}
	w := &cappedWriter{max: lim.MaxBytes}
	err := t.Execute(w, data)
	switch {
	case w.over:
		return "", &LimitError{Reason: fmt.Sprintf("output exceeds %d bytes", lim.MaxBytes)}
	case err == nil:
		return w.b.String(), nil
	case timedOut.Load():
		return "", &LimitError{Reason: fmt.Sprintf("execution took longer than %s", lim.Timeout)}
	case ctx.Err() != nil:
		return "", fmt.Errorf("template execution stopped: %w", ctx.Err())
	}
	return "", err
}

// instrument puts a guard call at the start of the body of every template
// of t and of every range in them.
func instrument(t *template.Template) error {
	g, err := template.New("guard").Funcs(template.FuncMap{guardName: func() string { return "" }}).Parse("{{" + guardName + "}}")
	if err != nil {
		return fmt.Errorf("template guard: %w", err)
	}
	guard := g.Tree.Root.Nodes[0]
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		guardList(tt.Tree.Root, guard)
	}
	return nil
}

// guardList prepends guard to list, unless it starts with a guard, and
// guards the ranges within.
func guardList(list *parse.ListNode, guard parse.Node) {
	if list == nil {
		return
	}
	guardNested(list, guard)
	if len(list.Nodes) == 0 || !isGuard(list.Nodes[0]) {
		list.Nodes = append([]parse.Node{guard}, list.Nodes...)
	}
}

// guardNested guards the body of every range within list, not list itself.
func guardNested(list *parse.ListNode, guard parse.Node) {
	if list == nil {
		return
	}
	for _, n := range list.Nodes {
		switch n := n.(type) {
		case *parse.IfNode:
			guardNested(n.List, guard)
			guardNested(n.ElseList, guard)
		case *parse.WithNode:
			guardNested(n.List, guard)
			guardNested(n.ElseList, guard)
		case *parse.RangeNode:
			guardList(n.List, guard)
			guardNested(n.ElseList, guard)
		case *parse.ListNode:
			guardNested(n, guard)
		}
	}
}

// isGuard reports whether n is a guard call.
func isGuard(n parse.Node) bool {
	a, ok := n.(*parse.ActionNode)
	if !ok || a.Pipe == nil || len(a.Pipe.Decl) > 0 || len(a.Pipe.Cmds) != 1 || len(a.Pipe.Cmds[0].Args) != 1 {
		return false
	}
	id, ok := a.Pipe.Cmds[0].Args[0].(*parse.IdentifierNode)
	return ok && id.Ident == guardName
}

// cappedWriter keeps up to max bytes and fails the write that would exceed
// them.
type cappedWriter struct {
	b    strings.Builder
	max  int
	over bool
}

// Write appends p, or fails without writing when that would exceed the cap.
func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		w.over = true
		return 0, errTooLarge
	}
	return w.b.Write(p)
}
