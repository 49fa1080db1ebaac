package dag

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// Defaults of a workspace.
const (
	// DefaultWorkspaceRef is what a run starts from when its workspace
	// names no ref: the repository's default branch.
	DefaultWorkspaceRef = "HEAD"
	// WorkflowIDPlaceholder in a workspace's branch stands for the run's
	// workflow ID.
	WorkflowIDPlaceholder = "{{.WorkflowID}}"
	// DefaultWorkspaceBranch is where a run's finished work is pushed when
	// its workspace names no branch.
	DefaultWorkspaceBranch = "maestro/" + WorkflowIDPlaceholder
	// MaxRefLength bounds a workspace's ref and branch.
	MaxRefLength = 200
)

// Workspace names the git repository a run works in: every command and
// agent node works in a clean checkout of its base commit, what it changes
// is committed, and the finished run is pushed to Branch.
type Workspace struct {
	// Repo is an absolute local path or a git URL the workers can reach
	// (file://, ssh://, https://, user@host:path).
	Repo string `json:"repo"`
	// Ref is what the run starts from: a branch, tag or commit SHA,
	// resolved once when the run starts; empty means the repository's
	// default branch (HEAD).
	Ref string `json:"ref,omitempty"`
	// Branch is where the finished run is pushed; "{{.WorkflowID}}" in it
	// stands for the run's ID. Empty means DefaultWorkspaceBranch.
	Branch string `json:"branch,omitempty"`
	// Create makes the repository (a local path only) with an initial
	// commit when it does not exist yet.
	Create bool `json:"create,omitempty"`
}

// RefOrDefault returns the ref with the default applied.
func (w Workspace) RefOrDefault() string {
	if w.Ref == "" {
		return DefaultWorkspaceRef
	}
	return w.Ref
}

// BranchFor returns the branch of the run with the given workflow ID: the
// workspace's branch (or the default) with the placeholder replaced by the
// ID made safe for a git ref (see RefSafe).
func (w Workspace) BranchFor(workflowID string) string {
	b := w.Branch
	if b == "" {
		b = DefaultWorkspaceBranch
	}
	return strings.ReplaceAll(b, WorkflowIDPlaceholder, RefSafe(workflowID))
}

// NodeRef is the ref a workspace run pushes node's commit to:
// refs/maestro/<workflow id>/<node id>, both made safe by RefSafe.
func NodeRef(workflowID, node string) string {
	return "refs/maestro/" + RefSafe(workflowID) + "/" + RefSafe(node)
}

// RefSafe turns s into one component of a git ref name, keeping letters,
// digits and "_.+=-" and percent-encoding every other byte; dots are encoded
// too when the result would otherwise break git's rules (a leading dot,
// "..", a trailing "." or ".lock"). Different inputs give different
// results.
func RefSafe(s string) string {
	enc := func(dots bool) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
				c == '_', c == '+', c == '=', c == '-', c == '.' && !dots:
				b.WriteByte(c)
			default:
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
		return b.String()
	}
	r := enc(false)
	if r == "" || strings.HasPrefix(r, ".") || strings.Contains(r, "..") ||
		strings.HasSuffix(r, ".") || strings.HasSuffix(r, ".lock") {
		r = enc(true)
	}
	return r
}

// scpLike matches git's user@host:path form.
var scpLike = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]`)

// HasDotSegments reports whether a repository location has a "." or ".."
// path segment (which a prefix rule could be walked out of).
func HasDotSegments(repo string) bool {
	for _, seg := range strings.FieldsFunc(repo, func(r rune) bool { return r == '/' || r == ':' }) {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// IsLocalRepo reports whether repo is a local path (not a URL).
func IsLocalRepo(repo string) bool { return strings.HasPrefix(repo, "/") }

// validate reports the workspace's problems under field "workspace.*".
func (w Workspace) validate(v *validator) {
	const node = ""
	repo := w.Repo
	switch {
	case strings.TrimSpace(repo) == "":
		v.add(node, "workspace.repo", "is required: an absolute path or a git URL (file://, ssh://, https://, user@host:path)")
	case strings.ContainsFunc(repo, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		v.add(node, "workspace.repo", "must not hold control characters")
	case strings.HasPrefix(repo, "-"):
		v.add(node, "workspace.repo", "must not start with '-'")
	case IsLocalRepo(repo):
		if filepath.Clean(repo) != strings.TrimSuffix(repo, "/") {
			v.add(node, "workspace.repo", "%q is not a clean path (no \"..\", \".\" or \"//\")", repo)
		}
	case strings.HasPrefix(repo, "file://"), strings.HasPrefix(repo, "ssh://"),
		strings.HasPrefix(repo, "https://"), strings.HasPrefix(repo, "http://"),
		strings.HasPrefix(repo, "git://"), scpLike.MatchString(repo):
		if w.Create {
			v.add(node, "workspace.create", "only a local path (an absolute path) can be created")
		}
		if HasDotSegments(repo) {
			v.add(node, "workspace.repo", "%q has a \".\" or \"..\" path segment", repo)
		}
		if u, err := url.Parse(repo); err == nil && u.User != nil {
			_, pw := u.User.Password()
			if pw || u.Scheme == "http" || u.Scheme == "https" {
				v.add(node, "workspace.repo", "must not hold credentials: the workers' git configuration and environment provide them")
			}
		}
	default:
		v.add(node, "workspace.repo", "%q is neither an absolute path nor a git URL (file://, ssh://, https://, user@host:path)", repo)
	}
	if w.Ref != "" {
		if msg := refProblem(w.Ref); msg != "" {
			v.add(node, "workspace.ref", "%s", msg)
		}
	}
	if w.Branch != "" {
		b := strings.ReplaceAll(w.Branch, WorkflowIDPlaceholder, "x")
		switch {
		case strings.HasPrefix(b, "refs/"):
			v.add(node, "workspace.branch", "give a branch name without refs/ (e.g. %q)", DefaultWorkspaceBranch)
		case b == "HEAD":
			v.add(node, "workspace.branch", "HEAD is not a branch name")
		case v.bounds && (strings.Contains(b, "{{") || strings.Contains(b, "}}")):
			v.add(node, "workspace.branch", "only %s is replaced in a branch name; it is not a template", WorkflowIDPlaceholder)
		default:
			if msg := refProblem(b); msg != "" {
				v.add(node, "workspace.branch", "%s", msg)
			}
		}
	}
}

// refProblem checks a ref name against git's rules (git check-ref-format),
// returning what is wrong or "".
func refProblem(ref string) string {
	switch {
	case len(ref) > MaxRefLength:
		return fmt.Sprintf("longer than %d bytes", MaxRefLength)
	case strings.HasPrefix(ref, "-"):
		return "must not start with '-'"
	case strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/") || strings.Contains(ref, "//"):
		return fmt.Sprintf("%q is not a valid git ref (empty path component)", ref)
	case strings.Contains(ref, "..") || strings.Contains(ref, "@{") || ref == "@":
		return fmt.Sprintf("%q is not a valid git ref (\"..\" or \"@{\")", ref)
	case strings.HasSuffix(ref, ".") || strings.HasSuffix(ref, ".lock"):
		return fmt.Sprintf("%q is not a valid git ref (ends with \".\" or \".lock\")", ref)
	case strings.ContainsFunc(ref, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune("~^:?*[\\", r)
	}):
		return fmt.Sprintf("%q is not a valid git ref (no spaces, control characters or ~^:?*[\\)", ref)
	}
	for _, c := range strings.Split(ref, "/") {
		if strings.HasPrefix(c, ".") {
			return fmt.Sprintf("%q is not a valid git ref (a component starts with \".\")", ref)
		}
	}
	return ""
}

// workspaceNode checks what a node of a workspace run may set: its
// program's directory is inside the checkout.
func (v *validator) workspaceNode(id string, n Node) {
	p, ok := n.Executor.Resolve().(interface{ process() *Process })
	if !ok {
		return
	}
	if dir := p.process().Dir; dir != "" && !filepath.IsLocal(dir) {
		v.add(id, "executor.dir", "%q must be a relative path inside the checkout in a workspace run", dir)
	}
	if c, ok := n.Executor.Spec.(*CommandSpec); ok && c.Repair != nil && c.Repair.Agent != nil {
		if dir := c.Repair.Agent.Dir; dir != "" && !filepath.IsLocal(dir) {
			v.add(id, "executor.repair.agent.dir", "%q must be a relative path inside the checkout in a workspace run", dir)
		}
	}
}
