package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"

	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/run"
)

// maxInlineInput caps a dependency's full output given to a command or http
// node in place of its truncated output: a command gets inputs in its
// environment, where Linux refuses any one string over 128 KiB.
const maxInlineInput = 96 << 10

// truncatedOutput matches the marker capHead ends a truncated output with;
// its second group is the output's whole size.
var truncatedOutput = regexp.MustCompile(`\n…\[truncated: (\d+) of (\d+) bytes shown\]$`)

// captureBytes is how much of an executor's output is kept in memory: the
// history cap, or the artifact cap when the worker stores artifacts.
func (a *Activities) captureBytes() int {
	if a.cfg.ArtifactStore == nil {
		return a.cfg.MaxOutputBytes
	}
	return max(a.cfg.MaxArtifactBytes, a.cfg.MaxOutputBytes)
}

// storeArtifact writes a completed node's full output to the artifact store
// (when the worker has one) and sets res.Artifact. The workflow then keeps
// only the capped Output and the reference in history.
func (a *Activities) storeArtifact(ctx context.Context, in run.NodeInput, res *run.NodeResult) error {
	if a.cfg.ArtifactStore == nil {
		return nil
	}
	full := res.Full
	if full == nil {
		full = []byte(res.Output)
	}
	ref, err := a.cfg.ArtifactStore.Put(ctx, in.WorkflowID, in.Node.ID, full)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ne := &nodeError{typ: ErrTypeArtifact, msg: fmt.Sprintf("store the output as an artifact: %v", err)}
		if errors.Is(err, artifacts.ErrInvalidKey) {
			ne.nonRetryable = true
		}
		return ne
	}
	res.Artifact = ref.String()
	return nil
}

// dependencyInputs returns the node's inputs with dependencies' outputs
// replaced by their full artifacts: the workflow hands over only the capped
// outputs it keeps in history. A dependency's artifact is the one
// in.Artifacts names, else the one filed under (in.WorkflowID, dependency
// ID). An agent node (all is true) gets every dependency's full artifact;
// other nodes only replace an output that was truncated, and only by an
// artifact of at most maxInlineInput bytes. A dependency without an artifact
// (no store, a worker without one, or a node reused from the run a retry
// retries when the workflow does not name its artifact) keeps its capped
// output.
func (a *Activities) dependencyInputs(ctx context.Context, in run.NodeInput, all bool) (map[string]string, error) {
	if a.cfg.ArtifactStore == nil || len(in.Inputs) == 0 {
		return in.Inputs, nil
	}
	out := maps.Clone(in.Inputs)
	for dep, capped := range in.Inputs {
		if !all && !truncatedOutput.MatchString(capped) {
			continue
		}
		wf, node := in.WorkflowID, dep
		if r, ok := in.Artifacts[dep]; ok {
			if w, n, ok := artifacts.ParseRef(artifacts.Ref(r)); ok {
				wf, node = w, n
			}
		}
		full, err := a.cfg.ArtifactStore.Get(ctx, wf, node)
		switch {
		case errors.Is(err, artifacts.ErrNotFound):
			a.cfg.Logger.DebugContext(ctx, "dependency has no artifact; using its output from history",
				slog.String("workflow_id", in.WorkflowID), slog.String("node", in.Node.ID), slog.String("dependency", dep))
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &nodeError{typ: ErrTypeArtifact, msg: fmt.Sprintf("read the artifact of dependency %q: %v", dep, err)}
		case !all && len(full) > maxInlineInput:
			continue
		}
		out[dep] = string(full)
	}
	return out, nil
}

// withFullInputs applies dependencyInputs for command and http nodes (agent
// nodes read every dependency's artifact when they build their prompt).
func (a *Activities) withFullInputs(ctx context.Context, in run.NodeInput) (run.NodeInput, error) {
	inputs, err := a.dependencyInputs(ctx, in, false)
	if err != nil {
		return in, err
	}
	in.Inputs = inputs
	return in, nil
}
