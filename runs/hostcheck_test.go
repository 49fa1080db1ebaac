package runs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/server/temporaltest"

	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/runs"
)

// TestHostChecks runs Health's host checks (`maestro doctor`) against a
// real server, real git and real directories: each failure is reported with
// what to do about it, and a healthy host passes them all.
func TestHostChecks(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	oldGit := filepath.Join(t.TempDir(), "git")
	require.NoError(t, os.WriteFile(oldGit, []byte("#!/bin/sh\necho git version 2.20.1\n"), 0o755))
	notYet := filepath.Join(t.TempDir(), "not-yet")
	healthy := func() *runs.Host {
		return &runs.Host{Policy: policy.Default(), PolicyHint: "set MAESTRO_POLICY_FILE to allow more",
			WorkspaceDir: filepath.Join(notYet, "workspaces"), ArtifactDir: t.TempDir()}
	}
	for _, tc := range []struct {
		name      string
		namespace string
		host      func(h *runs.Host)
		check     string
		status    string
		detail    string // in the check's detail
		fix       string // in its first fix
	}{
		{"policy loads", "", nil, runs.CheckPolicy, runs.CheckOK, "set MAESTRO_POLICY_FILE to allow more", ""},
		{"policy does not load", "", func(h *runs.Host) { h.Policy, h.PolicyErr = nil, errors.New("policy.yaml: line 3: unknown field") },
			runs.CheckPolicy, runs.CheckFail, "line 3: unknown field", "MAESTRO_POLICY_FILE"},
		{"workspace directory to be made", "", nil, runs.CheckWorkspace, runs.CheckOK, "writable, git 2.", ""},
		{"workspace directory is a file", "", func(h *runs.Host) { h.WorkspaceDir = file }, runs.CheckWorkspace, runs.CheckFail, "is not a directory", "MAESTRO_WORKSPACE_DIR"},
		{"workspace under a file", "", func(h *runs.Host) { h.WorkspaceDir = filepath.Join(file, "ws") }, runs.CheckWorkspace, runs.CheckFail, "not a directory", "MAESTRO_WORKSPACE_DIR"},
		{"no git", "", func(h *runs.Host) { h.GitPath = filepath.Join(t.TempDir(), "no-git") }, runs.CheckWorkspace, runs.CheckFail, "git not found", "install git 2.30"},
		{"old git", "", func(h *runs.Host) { h.GitPath = oldGit }, runs.CheckWorkspace, runs.CheckFail, "found 2.20.1, need 2.30", "upgrade git to 2.30"},
		{"artifacts writable", "", nil, runs.CheckArtifacts, runs.CheckOK, "writable", ""},
		{"artifacts a file", "", func(h *runs.Host) { h.ArtifactDir = file }, runs.CheckArtifacts, runs.CheckFail, "is not a directory", "MAESTRO_ARTIFACT_DIR"},
		{"clock agrees", ts.GetDefaultNamespace(), nil, runs.CheckClock, runs.CheckOK, "agrees with Temporal's within", ""},
		{"clock behind", ts.GetDefaultNamespace(), func(h *runs.Host) { h.Now = func() time.Time { return time.Now().Add(-time.Minute) } },
			runs.CheckClock, runs.CheckFail, "ahead of this machine's", "NTP"},
		{"clock ahead", ts.GetDefaultNamespace(), func(h *runs.Host) { h.Now = func() time.Time { return time.Now().Add(30 * time.Second) } },
			runs.CheckClock, runs.CheckFail, "behind this machine's", "NTP"},
		{"clock needs the namespace", "no-such-namespace", nil, runs.CheckClock, runs.CheckSkip, "needs Temporal and the namespace", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := healthy()
			if tc.host != nil {
				tc.host(host)
			}
			start := time.Now()
			h := runs.New(c, runs.Config{Namespace: tc.namespace, TaskQueue: "host-test", Host: host}).Health(ctx)
			took := time.Since(start)
			ch := h.Check(tc.check)
			require.NotNil(t, ch, "%+v", h.Checks)
			assert.Equal(t, tc.status, ch.Status, ch.Detail)
			assert.Contains(t, ch.Detail, tc.detail)
			if tc.fix != "" {
				require.NotEmpty(t, ch.Fix)
				assert.Contains(t, ch.Fix[0], tc.fix)
			}
			if tc.check == runs.CheckClock {
				t.Logf("%s: %s (Health took %s)", ch.Status, ch.Detail, took.Round(time.Millisecond))
			}
		})
	}
	assert.NoDirExists(t, notYet, "the checks create nothing")
}
