package api_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/api"
)

// A request that decodes a pipeline waits for a turn before its body is
// read; one that finds none within BusyWait is refused with 503 and
// Retry-After, so a burst of big bodies cannot all be in memory at once.
func TestPipelineDecodingTakesTurns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *api.Config) { c.MaxBusy = 1; c.BusyWait = 200 * time.Millisecond })

	// The first request holds the only turn while its body trickles in.
	body, feed := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, h.url+"/api/dags/validate", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	first := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	_, err = feed.Write([]byte(`{"name": "slow", `))
	require.NoError(t, err)

	var r response
	require.Eventually(t, func() bool {
		r = h.do(http.MethodPost, "/api/dags/validate", map[string]any{"dag": inlineDAG("second", noopNode("a", ""))})
		return r.code == http.StatusServiceUnavailable
	}, 10*time.Second, 50*time.Millisecond, "a second pipeline waits, then is refused")
	assert.Equal(t, api.CodeBusy, r.apiError(t).Code)
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	// Reads are never held up.
	assert.Equal(t, http.StatusOK, h.do(http.MethodGet, "/api/templates", nil).code)

	_, err = feed.Write([]byte(`"nodes": [{"id": "a", "executor": {"kind": "noop"}}]}`))
	require.NoError(t, err)
	require.NoError(t, feed.Close())
	assert.Equal(t, http.StatusOK, <-first)
	// The turn is free again.
	assert.Equal(t, http.StatusOK, h.do(http.MethodPost, "/api/dags/validate", map[string]any{"dag": inlineDAG("third", noopNode("a", ""))}).code)
}
