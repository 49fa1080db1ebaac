package activities

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/fakellm"
)

// The templates of the issue: 76 bytes that render 200 MB, and a loop of
// 10^12 iterations that writes nothing.
const (
	outputBomb = `{{range 20000000}}xxxxxxxxxx{{end}}`
	cpuBomb    = `{{range 1000000000000}}{{end}}`
)

// processCPU is the process's user and system CPU time.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestTemplateLimits runs http and agent nodes whose templates would render
// hundreds of megabytes or loop for hours, against real servers: each fails
// at once with TemplateLimit, non-retryable, sends nothing, holds little
// memory and leaves no CPU use behind.
func TestTemplateLimits(t *testing.T) {
	llm := fakellm.New(t, testKey, text("never asked"))
	for _, tc := range []struct {
		name    string
		node    func(url string) dag.Node
		limits  func(*Config)
		message string
	}{
		{"http body of 200 MB", func(u string) dag.Node {
			return httpNode(dag.HTTPSpec{URL: u, Body: outputBomb})
		}, nil, "executor.body: template output exceeds 1048576 bytes"},
		{"http header over a configured cap", func(u string) dag.Node {
			return httpNode(dag.HTTPSpec{URL: u, Headers: map[string]string{"X-Big": `{{range 100}}0123456789{{end}}`}})
		}, func(c *Config) { c.MaxTemplateBytes = 512 }, "executor.headers.X-Big: template output exceeds 512 bytes"},
		{"http url looping 10^12 times", func(u string) dag.Node {
			return httpNode(dag.HTTPSpec{URL: u + cpuBomb})
		}, func(c *Config) { c.TemplateTimeout = 300 * time.Millisecond }, "executor.url: template execution took longer than 300ms"},
		{"agent prompt of 200 MB", func(string) dag.Node {
			return agentNode("design", "design", dag.AgentSpec{Prompt: outputBomb})
		}, nil, "agent: executor.prompt: template output exceeds 1048576 bytes"},
		{"agent system prompt looping 10^12 times", func(string) dag.Node {
			return agentNode("design", "design", dag.AgentSpec{SystemPrompt: cpuBomb})
		}, func(c *Config) { c.TemplateTimeout = 300 * time.Millisecond }, "agent: executor.system_prompt: template execution took longer than 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, requests := server(t, answer(http.StatusOK, "ok"))
			opts := []harnessOpt{withAgent(dag.ProviderAnthropic, llm.URL)}
			if tc.limits != nil {
				opts = append(opts, withConfig(tc.limits))
			}
			h := newHarness(t, opts...)

			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			began := time.Now()
			_, err := h.run(tc.node(srv.URL))
			took := time.Since(began)
			runtime.ReadMemStats(&after)

			appErr, _ := appError(t, err, ErrTypeTemplateLimit, false)
			assert.Equal(t, tc.message, appErr.Message())
			assert.Empty(t, requests(), "no request is sent")
			assert.Less(t, took, 15*time.Second, "a generous bound: unbounded, the template runs for hours")
			alloc := after.TotalAlloc - before.TotalAlloc
			grown := int64(after.Sys) - int64(before.Sys)
			// Rendering 200 MB would allocate several times that; looping
			// allocates short-lived garbage but holds nothing.
			assert.Less(t, grown, int64(64<<20), "bytes taken from the OS")
			if strings.HasSuffix(tc.message, "bytes") {
				assert.Less(t, alloc, uint64(32<<20), "bytes allocated")
			}
			t.Logf("took %s, allocated %d KiB in all, OS memory grew by %d KiB", took.Round(time.Millisecond), alloc>>10, grown>>10)
		})
	}
	assert.Empty(t, llm.Requests(), "the model is never asked")
}

// TestTemplateStopsWhenTheNodeEnds: a template still looping when its node
// times out stops with it (well before the template's own time cap): the
// attempt ends with the timeout, and no CPU is used after it.
func TestTemplateStopsWhenTheNodeEnds(t *testing.T) {
	llm := fakellm.New(t, testKey, text("never asked"))
	for _, tc := range []struct {
		name string
		node dag.Node
	}{
		{"http body", httpNode(dag.HTTPSpec{URL: "http://127.0.0.1:1/", Body: cpuBomb})},
		{"agent prompt", agentNode("design", "design", dag.AgentSpec{Prompt: cpuBomb})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			h := newHarness(t, withBackground(ctx), withAgent(dag.ProviderAnthropic, llm.URL),
				withConfig(func(c *Config) { c.TemplateTimeout = time.Hour }))
			goroutines := runtime.NumGoroutine()
			began := time.Now()
			_, err := h.run(tc.node)
			took := time.Since(began)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "deadline exceeded")
			assert.Less(t, took, 15*time.Second, "the attempt ends with its context (the template timeout is an hour)")

			cpu := processCPU(t)
			time.Sleep(time.Second)
			used := processCPU(t) - cpu
			assert.Less(t, used, 200*time.Millisecond, "CPU used in the second after the node ended")
			assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines+2, "goroutines left")
			t.Logf("ended after %s; %s of CPU in the next second", took.Round(time.Millisecond), used.Round(time.Millisecond))
		})
	}
	assert.Empty(t, llm.Requests())
}
