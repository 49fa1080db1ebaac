package run

import "time"

// NodeWorkspace is what a node of a workspace run works on.
type NodeWorkspace struct {
	// Repo is the run's repository (dag.Workspace.Repo).
	Repo string `json:"repo"`
	// Bases are the commits the node starts from: its checkout is the
	// first, with the others merged into it in order.
	Bases []string `json:"bases"`
	// Start is the run's start commit (the review role shows the run's
	// changes from it).
	Start string `json:"start,omitempty"`
	// Date dates the commits the checkout's merges make (the run's start),
	// so that every attempt of a node merges to the same commit.
	Date time.Time `json:"date"`
	// Dir is the checkout while the node runs, and Base its commit (the
	// merge of Bases when there are several); set by the worker, never
	// encoded.
	Dir  string `json:"-"`
	Base string `json:"-"`
}

// Commit is what a node of a workspace run left in the repository: never
// file contents, only the commit, where it started and a diffstat.
type Commit struct {
	// SHA is the node's commit: Base when the node changed nothing.
	SHA string `json:"sha"`
	// Base is the commit the node started from (its dependency's commit,
	// the run's start, or the merge of its dependencies' commits).
	Base string `json:"base"`
	// Parents are SHA's parents.
	Parents []string `json:"parents,omitempty"`
	// Changed says the node committed changes.
	Changed bool `json:"changed"`
	// Ref is where the commit was pushed (refs/maestro/<run>/<node>).
	Ref string `json:"ref,omitempty"`
	// Files, Insertions and Deletions are the diffstat of Base..SHA.
	Files      int `json:"files"`
	Insertions int `json:"insertions"`
	Deletions  int `json:"deletions"`
}

// WorkspaceStart asks a worker to resolve where a workspace run starts.
type WorkspaceStart struct {
	WorkflowID string `json:"workflow_id"`
	Repo       string `json:"repo"`
	Ref        string `json:"ref"`
	// Create makes a missing local repository with an initial commit.
	Create bool `json:"create,omitempty"`
}

// WorkspaceFinish asks a worker to push a completed run's work to its
// branch.
type WorkspaceFinish struct {
	WorkflowID string `json:"workflow_id"`
	Repo       string `json:"repo"`
	// Start is the run's start commit.
	Start string `json:"start"`
	// Heads are the commits the run's last nodes left; several are merged.
	Heads []string `json:"heads"`
	// Branch is the branch to push to.
	Branch string `json:"branch"`
	// Date dates the merge commit, if one is made.
	Date time.Time `json:"date"`
}

// WorkspaceStatus is a workspace run's repository as status shows it.
type WorkspaceStatus struct {
	Repo string `json:"repo"`
	// Ref is what the run was asked to start from; StartSHA what it
	// resolved to.
	Ref      string `json:"ref"`
	StartSHA string `json:"start_sha"`
	// Branch is where the finished run is (or will be) pushed.
	Branch string `json:"branch"`
	// Head is the commit pushed to Branch once the run completed.
	Head string `json:"head,omitempty"`
	// Files, Insertions and Deletions are the diffstat of StartSHA..Head.
	Files      int `json:"files,omitempty"`
	Insertions int `json:"insertions,omitempty"`
	Deletions  int `json:"deletions,omitempty"`
}
