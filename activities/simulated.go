package activities

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/maestrohq/maestro/run"
)

// demo is the sample project the simulated phases of a template build.
//
//go:embed demo
var demo embed.FS

// demoFiles are the files each simulated SDLC phase writes into its
// checkout: path in the checkout → file in demo. The phases build a small
// Go module, one commit each, so that a template run on a worker without an
// agent provider leaves a real branch.
var demoFiles = map[string][][2]string{
	"requirements": {{"docs/requirements.md", "requirements.md"}},
	"design":       {{"docs/design.md", "design.md"}},
	"backend":      {{"go.mod", "go.mod.txt"}, {"todo/todo.go", "todo.go.txt"}, {"cmd/todo/main.go", "main.go.txt"}},
	"frontend":     {{"web/index.html", "index.html"}},
	"testing":      {{"todo/todo_test.go", "todo_test.go.txt"}},
	"review":       {{"REVIEW.md", "REVIEW.md"}},
	"deployment":   {{"DEPLOY.md", "DEPLOY.md"}},
}

// demoRepair is what a simulated repair agent writes: the sample project's
// backend has a bug (titles are not trimmed) that the testing phase's test
// finds, so that the template's verify node fails once and is repaired.
var demoRepair = [][2]string{{"todo/todo.go", "todo_fixed.go.txt"}}

// writeSimulated leaves a simulated agent phase's work in its checkout: the
// sample project's files of its phase (or its fix, for a repair agent),
// or, for another phase, its answer as AnswerDir/<node id>.md.
func (a *Activities) writeSimulated(in run.NodeInput, res run.NodeResult) error {
	root := in.Workspace.Dir
	files, ok := demoFiles[in.Node.Phase]
	if in.Repair != nil {
		files, ok = demoRepair, true
	}
	if !ok {
		answer := res.Full
		if len(answer) == 0 {
			answer = []byte(res.Output)
		}
		return writeFile(root, filepath.Join(AnswerDir, in.Node.ID+".md"), answer)
	}
	for _, f := range files {
		data, err := demo.ReadFile("demo/" + f[1])
		if err != nil {
			return fmt.Errorf("simulated %s: %w", in.Node.Phase, err)
		}
		text := string(data)
		if req, _ := in.Params["requirement"].(string); req != "" {
			text = strings.ReplaceAll(text, "{{REQUIREMENT}}", req)
		} else {
			text = strings.ReplaceAll(text, "{{REQUIREMENT}}", "(no requirement given)")
		}
		if strings.Contains(text, "{{FILES}}") {
			text = strings.ReplaceAll(text, "{{FILES}}", listFiles(root))
		}
		if err := writeFile(root, f[0], []byte(text)); err != nil {
			return err
		}
	}
	return nil
}

// listFiles lists the checkout's files as Markdown items (not .git).
func listFiles(root string) string {
	var files []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() != ".git" {
			if rel, err := filepath.Rel(root, p); err == nil {
				files = append(files, "- `"+filepath.ToSlash(rel)+"`")
			}
		}
		return nil
	})
	slices.Sort(files)
	return strings.Join(files, "\n")
}

// writeFile writes data at rel under root, making its directories.
func writeFile(root, rel string, data []byte) error {
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	return nil
}
