package workflows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/workflow"
)

// TestPatchesListEveryGetVersion reads the package's source: every
// workflow.GetVersion call's change ID, with its highest maxSupported, must
// be in the patches WorkflowCodeVersion reports, and nothing else, so that
// `maestro version` names the workflow code truly.
func TestPatchesListEveryGetVersion(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	consts := map[string]string{} // constant name → string value
	type call struct {
		id  ast.Expr
		max ast.Expr
	}
	var calls []call
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		require.NoError(t, err)
		f, err := parser.ParseFile(fset, name, src, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if i < len(n.Values) {
						if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[id.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "GetVersion" {
					if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "workflow" {
						require.Len(t, n.Args, 4, fset.Position(n.Pos()).String())
						calls = append(calls, call{id: n.Args[1], max: n.Args[3]})
					}
				}
			}
			return true
		})
	}
	require.NotEmpty(t, calls, "the workflow code has GetVersion calls")
	found := map[string]workflow.Version{}
	for _, c := range calls {
		var id string
		switch e := c.id.(type) {
		case *ast.Ident:
			v, ok := consts[e.Name]
			require.True(t, ok, "change ID %s is not a string constant of the package", e.Name)
			id = v
		case *ast.BasicLit:
			id, _ = strconv.Unquote(e.Value)
		default:
			t.Fatalf("change ID at %s is neither a constant nor a literal", fset.Position(c.id.Pos()))
		}
		lit, ok := c.max.(*ast.BasicLit)
		require.True(t, ok, "maxSupported at %s is not a literal", fset.Position(c.max.Pos()))
		n, err := strconv.Atoi(lit.Value)
		require.NoError(t, err)
		found[id] = max(found[id], workflow.Version(n))
	}
	got := map[string]workflow.Version{}
	for _, p := range WorkflowCodeVersion().Patches {
		got[p.ID] = p.Max
	}
	assert.Equal(t, found, got)
	for _, id := range retired {
		assert.NotContains(t, found, id, "a retired change ID is never used again")
	}
}

func TestWorkflowCodeVersionString(t *testing.T) {
	v := WorkflowCodeVersion()
	assert.Regexp(t, `^4 patches \(batch-big-starts=1, continue-as-new=1, skip-dependents-of-early-rejection=1, usage-in-memo=1\), hash [0-9a-f]{12}$`, v.String())
	assert.Equal(t, v, WorkflowCodeVersion(), "stable")
	assert.Equal(t, "1 patch (a=2), hash x", CodeVersion{Patches: []Patch{{ID: "a", Max: 2}}, Hash: "x"}.String())
}
