package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
)

// TestTerminateARunWhoseNodeIgnoresCancellation terminates a run whose
// command ignores SIGTERM: the run is terminated at once (the figure is
// logged), the command's processes are killed, and terminating it again,
// an unknown run, or without a reason, is refused naming why.
func TestTerminateARunWhoseNodeIgnoresCancellation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	stubborn := map[string]any{"id": "stubborn", "executor": map[string]any{"kind": "command",
		"argv": []string{"sh", "-c", `echo $$ > "$0"; trap "" TERM; sleep 60`, pidFile}}}
	id := h.start(map[string]any{"dag": inlineDAG("terminate-me", stubborn, noopNode("after", "", "stubborn"))})
	h.waitFor(id, "stubborn running", nodeIs("stubborn", "running"))
	var pid int
	require.Eventually(t, func() bool {
		data, err := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil && pid > 0
	}, 10*time.Second, 20*time.Millisecond)

	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		code       string
	}{
		{"no body", "/api/workflows/" + id + "/terminate", nil, http.StatusBadRequest, api.CodeMalformedJSON},
		{"no reason", "/api/workflows/" + id + "/terminate", map[string]any{"reason": " "}, http.StatusBadRequest, api.CodeInvalidRequest},
		{"unknown field", "/api/workflows/" + id + "/terminate", map[string]any{"reason": "x", "force": true}, http.StatusBadRequest, ""},
		{"unknown run", "/api/workflows/no-such-run/terminate", map[string]any{"reason": "x"}, http.StatusNotFound, api.CodeRunNotFound},
	} {
		r := h.do(http.MethodPost, tc.path, tc.body)
		require.Equal(t, tc.status, r.code, "%s: %s", tc.name, r.body)
		if tc.code != "" {
			assert.Equal(t, tc.code, r.apiError(t).Code, tc.name)
		}
	}
	r := h.do(http.MethodPost, "/api/workflows/"+id+"/terminate", map[string]any{"reason": " "})
	assert.Equal(t, "reason", r.apiError(t).Details.(map[string]any)["field"], "the 400 names the field")

	start := time.Now()
	r = h.do(http.MethodPost, "/api/workflows/"+id+"/terminate", map[string]any{"reason": "runaway: ignores cancel"})
	require.Equal(t, http.StatusAccepted, r.code, "body: %s", r.body)
	var c api.ControlResponse
	r.json(t, &c)
	assert.Equal(t, api.ControlResponse{WorkflowID: id, Action: "terminate", Accepted: true}, c)
	v := h.waitFor(id, "terminated", closed)
	took := time.Since(start)
	t.Logf("run terminated %s after the request (its node ignores SIGTERM)", took.Round(time.Millisecond))
	assert.Equal(t, "terminated", string(v.Status))
	assert.Less(t, took, 10*time.Second, "terminate does not wait for the node")

	// The node's attempt learns at its next heartbeat and kills its group.
	require.Eventually(t, func() bool { return syscall.Kill(pid, 0) != nil }, 20*time.Second, 50*time.Millisecond,
		"the command's process %d outlived the terminated run", pid)

	again := h.do(http.MethodPost, "/api/workflows/"+id+"/terminate", map[string]any{"reason": "again"})
	assert.Equal(t, http.StatusConflict, again.code, "body: %s", again.body)
	assert.Equal(t, api.CodeRunNotRunning, again.apiError(t).Code)
}
