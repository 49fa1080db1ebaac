package render

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func execute(t *testing.T, ctx context.Context, text string, data any, lim Limits) (string, error) {
	t.Helper()
	tmpl, err := Parse("field", text, template.FuncMap{"up": strings.ToUpper})
	require.NoError(t, err)
	return Execute(ctx, tmpl, data, lim)
}

func TestExecuteRendersWithinLimits(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		data       any
		want       string
	}{
		{"plain", "hello", nil, "hello"},
		{"field and func", `{{up .X}}!`, map[string]string{"X": "a"}, "A!"},
		{"range over data", `{{range .}}[{{.}}]{{else}}none{{end}}`, []int{1, 2}, "[1][2]"},
		{"range else", `{{range .}}[{{.}}]{{else}}none{{end}}`, []int{}, "none"},
		{"range over an int", `{{range 3}}{{.}}{{end}}`, nil, "012"},
		{"nested ranges in if and with", `{{if true}}{{with 1}}{{range 2}}{{range 2}}x{{end}}{{end}}{{end}}{{end}}`, nil, "xxxx"},
		{"break and continue", `{{range 5}}{{if eq . 1}}{{continue}}{{end}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}`, nil, "02"},
		{"define and template", `{{define "a"}}<{{.}}>{{end}}{{template "a" 1}}{{block "b" 2}}({{.}}){{end}}`, nil, "<1>(2)"},
		{"output exactly at the cap", `{{range 4}}ab{{end}}`, nil, "abababab"},
		{"the guard itself", `{{maestroTemplateGuard}}ok`, nil, "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := execute(t, context.Background(), tc.text, tc.data, Limits{MaxBytes: 8})
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestExecuteKeepsTemplateErrors(t *testing.T) {
	_, err := execute(t, context.Background(), `{{.X.Y}}`, map[string]any{}, Limits{})
	require.Error(t, err)
	var le *LimitError
	assert.False(t, errors.As(err, &le))
	assert.Contains(t, err.Error(), `map has no entry for key "X"`)
}

// cpuTime is the process's user and system CPU time.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestExecuteStopsBombs runs templates that would write hundreds of
// megabytes or loop for hours: each fails with a *LimitError (or the
// context's error) within a bound, allocating little, and leaves no
// goroutine and no CPU use behind.
func TestExecuteStopsBombs(t *testing.T) {
	// 2^60 calls through {{template}} recursion, no range involved.
	const recursion = `{{define "a"}}{{if .}}{{template "a" slice . 1}}{{template "a" slice . 1}}{{end}}{{end}}{{template "a" .}}`
	sixty := strings.Repeat("x", 60)
	for _, tc := range []struct {
		name    string
		text    string
		data    any
		lim     Limits
		ctxWait time.Duration // 0: no deadline
		reason  string        // in the LimitError; "" means the context's error
		within  time.Duration // generous: a loaded machine is slow, an unbounded bomb takes hours
	}{
		{"200 MB of output", `{{range 20000000}}xxxxxxxxxx{{end}}`, nil, Limits{}, 0, "output exceeds 1048576 bytes", 10 * time.Second},
		{"output over a small cap", `{{range 100}}xxxxxxxxxx{{end}}`, nil, Limits{MaxBytes: 64}, 0, "output exceeds 64 bytes", 10 * time.Second},
		{"a silent loop of 10^12", `{{range 1000000000000}}{{end}}`, nil, Limits{Timeout: 300 * time.Millisecond}, 0, "execution took longer than 300ms", 10 * time.Second},
		{"a silent loop in an else in a with", `{{with 0}}{{else}}{{range 1000000000000}}{{end}}{{end}}`, nil, Limits{Timeout: 300 * time.Millisecond}, 0, "took longer than 300ms", 10 * time.Second},
		{"nested silent loops", `{{range 1000000}}{{range 1000000}}{{end}}{{end}}`, nil, Limits{Timeout: 300 * time.Millisecond}, 0, "took longer than 300ms", 10 * time.Second},
		{"exponential recursion", recursion, sixty, Limits{Timeout: 300 * time.Millisecond}, 0, "took longer than 300ms", 10 * time.Second},
		{"the context ends first", `{{range 1000000000000}}{{end}}`, nil, Limits{Timeout: time.Minute}, 300 * time.Millisecond, "", 10 * time.Second},
		{"recursion when the context ends", recursion, sixty, Limits{Timeout: time.Minute}, 300 * time.Millisecond, "", 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.ctxWait > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctxWait)
				defer cancel()
			}
			runtime.GC()
			goroutines := runtime.NumGoroutine()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			began := time.Now()

			_, err := execute(t, ctx, tc.text, tc.data, tc.lim)

			took := time.Since(began)
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			if tc.reason != "" {
				var le *LimitError
				require.ErrorAs(t, err, &le)
				assert.Contains(t, le.Error(), tc.reason)
			} else {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			}
			assert.Less(t, took, tc.within)
			// Loops allocate short-lived garbage as they go (calls through
			// reflection); what they may not do is hold memory: the bytes
			// taken from the OS stay bounded, and so does all that an
			// output bomb allocates.
			alloc := after.TotalAlloc - before.TotalAlloc
			grown := int64(after.Sys) - int64(before.Sys)
			assert.Less(t, grown, int64(64<<20), "bytes taken from the OS while rendering")
			if strings.HasPrefix(tc.reason, "output") {
				assert.Less(t, alloc, uint64(48<<20), "bytes allocated while rendering (200 MB unbounded; ~16 MiB, ~20 MiB under -race)")
			}
			t.Logf("took %s, allocated %d KiB in all, OS memory grew by %d KiB", took.Round(time.Millisecond), alloc>>10, grown>>10)

			// Nothing goes on: no goroutine is left, and the process uses
			// (nearly) no CPU once Execute returned.
			cpu := cpuTime(t)
			time.Sleep(500 * time.Millisecond)
			assert.Less(t, cpuTime(t)-cpu, 150*time.Millisecond, "CPU used in the 500ms after Execute returned")
			assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines)
		})
	}
}
