package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/workflow"
)

// Patch is a change of the workflow code guarded by workflow.GetVersion:
// its change ID and the highest version the code records for new runs.
// Runs started by older code replay on newer workers through these guards.
type Patch struct {
	ID  string           `json:"id"`
	Max workflow.Version `json:"max"`
}

// patches lists every workflow.GetVersion change ID of the workflow code
// with its maxSupported (a test checks it against the calls in the source).
var patches = []Patch{
	{ID: versionSkipAtOnce, Max: 1},
	{ID: versionContinueAsNew, Max: 1},
	{ID: versionUsageMemo, Max: 1},
	{ID: versionBatchStarts, Max: 1},
}

// retired lists the change IDs of patches whose GetVersion call was
// removed, because both of their branches replay alike (they differ in
// nothing a replay compares) and the newer one is right for every run: a
// history that recorded the marker replays without it (the SDK skips
// version markers no call asks for). An ID here is never used again.
//
//   - lost-attempts-are-free: node activities get LostAttemptAllowance
//     attempts beyond max_attempts. The branches differed only in the
//     retry policy of the activities scheduled (which replay does not
//     compare); runs of the older code still in flight get the allowance on
//     their next nodes. Retired because its marker and its search-attribute
//     upsert cost every run two events and a visibility write.
var retired = []string{"lost-attempts-are-free"}

// CodeVersion identifies the workflow code a worker runs: the patches it
// knows and a short hash of them. Two workers with the same hash replay the
// same histories the same way; a deployment that adds a patch changes it.
type CodeVersion struct {
	Patches []Patch `json:"patches"`
	// Hash is the first 12 hex digits of the SHA-256 of the patches'
	// "id=max" lines, sorted.
	Hash string `json:"hash"`
}

// WorkflowCodeVersion returns the version of this build's workflow code.
func WorkflowCodeVersion() CodeVersion {
	ps := slices.Clone(patches)
	slices.SortFunc(ps, func(a, b Patch) int { return strings.Compare(a.ID, b.ID) })
	h := sha256.New()
	for _, p := range ps {
		fmt.Fprintf(h, "%s=%d\n", p.ID, p.Max)
	}
	return CodeVersion{Patches: ps, Hash: hex.EncodeToString(h.Sum(nil))[:12]}
}

// String is "2 patches (id=1, id=1), hash 0123456789ab".
func (v CodeVersion) String() string {
	parts := make([]string, len(v.Patches))
	for i, p := range v.Patches {
		parts[i] = fmt.Sprintf("%s=%d", p.ID, p.Max)
	}
	noun := "patches"
	if len(v.Patches) == 1 {
		noun = "patch"
	}
	return fmt.Sprintf("%d %s (%s), hash %s", len(v.Patches), noun, strings.Join(parts, ", "), v.Hash)
}
