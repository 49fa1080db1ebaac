package workspace

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// DiffStat counts the files changed between two commits and their inserted
// and deleted lines (binary files count as files with no lines).
type DiffStat struct {
	Files, Insertions, Deletions int
}

// DiffStat returns the diffstat of from..to in repo, computed in the mirror
// (commits missing from it are fetched).
func (m *Manager) DiffStat(ctx context.Context, repo, from, to string) (DiffStat, error) {
	mir, err := m.mirror(repo)
	if err != nil {
		return DiffStat{}, err
	}
	for _, sha := range []string{from, to} {
		if err := checkSHA(sha); err != nil {
			return DiffStat{}, err
		}
	}
	if err := m.ensureCommits(ctx, mir, from, to); err != nil {
		return DiffStat{}, err
	}
	out, err := m.r.git(ctx, mir.path, "diff", "--numstat", "--no-ext-diff", "--find-renames", from, to, "--")
	if err != nil {
		return DiffStat{}, fmt.Errorf("workspace: diffstat: %w", err)
	}
	return parseNumstat(out), nil
}

// parseNumstat sums `git diff --numstat` output.
func parseNumstat(out string) DiffStat {
	var st DiffStat
	for _, line := range strings.Split(out, "\n") {
		p := strings.SplitN(line, "\t", 3)
		if len(p) < 3 {
			continue
		}
		st.Files++
		a, _ := strconv.Atoi(p[0]) // "-" for binary files
		d, _ := strconv.Atoi(p[1])
		st.Insertions += a
		st.Deletions += d
	}
	return st
}
