package activities

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/dag"
)

func TestCapHead(t *testing.T) {
	long := strings.Repeat("a", 1000)
	multi := strings.Repeat("é", 500) // 2 bytes each
	tests := []struct {
		name      string
		in        string
		limit     int
		want      string // exact result when set
		truncated bool
	}{
		{name: "short", in: "hello", limit: 100, want: "hello"},
		{name: "exact", in: strings.Repeat("x", 100), limit: 100, want: strings.Repeat("x", 100)},
		{name: "empty", in: "", limit: 100, want: ""},
		{name: "long", in: long, limit: 200, truncated: true},
		{name: "multibyte", in: multi, limit: 201, truncated: true},
		{name: "tiny limit", in: long, limit: 10, want: "aaaaaaaaaa\n…[truncated: 10 of 1000 bytes shown]", truncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated := capHead([]byte(tt.in), len(tt.in), tt.limit)
			assert.Equal(t, tt.truncated, truncated)
			assert.True(t, utf8.ValidString(got), "valid UTF-8")
			if tt.want != "" || !tt.truncated {
				assert.Equal(t, tt.want, got)
			}
			if !tt.truncated {
				return
			}
			if tt.limit >= 100 {
				assert.LessOrEqual(t, len(got), tt.limit)
			}
			i := strings.Index(got, "\n…[truncated: ")
			require.GreaterOrEqual(t, i, 0, got)
			assert.True(t, strings.HasPrefix(tt.in, got[:i]), "keeps the head")
			assert.True(t, strings.HasSuffix(got, fmt.Sprintf("[truncated: %d of %d bytes shown]", i, len(tt.in))), got)
		})
	}
}

func TestCapHeadCountsUnseenBytes(t *testing.T) {
	// The buffer kept 300 bytes of a 1 MB output.
	got, truncated := capHead([]byte(strings.Repeat("z", 300)), 1<<20, 300)
	assert.True(t, truncated)
	assert.LessOrEqual(t, len(got), 300)
	assert.Contains(t, got, fmt.Sprintf(" of %d bytes shown]", 1<<20))
}

func TestCapTail(t *testing.T) {
	in := strings.Repeat("é", 400) + "THE END"
	got := capTail([]byte(in), len(in), 201)
	assert.True(t, utf8.ValidString(got))
	assert.LessOrEqual(t, len(got), 201)
	assert.True(t, strings.HasPrefix(got, "…[truncated: last "), got)
	assert.True(t, strings.HasSuffix(got, "éTHE END"), got)
	assert.Contains(t, got, fmt.Sprintf(" of %d bytes shown]\n", len(in)))

	assert.Equal(t, "short", capTail([]byte("short"), 5, 100))
}

func TestCapText(t *testing.T) {
	assert.Equal(t, "short", capText("short", 100))
	got := capText(strings.Repeat("ü", 100), 51)
	assert.True(t, utf8.ValidString(got))
	assert.LessOrEqual(t, len(got), 51)
	assert.True(t, strings.HasSuffix(got, "…[truncated]"))
}

func TestWithDetail(t *testing.T) {
	assert.Equal(t, "exit code 1", withDetail("exit code 1", []byte(" \n"), 2, 100, true))
	assert.Equal(t, "exit code 1: boom", withDetail("exit code 1", []byte("boom\n"), 5, 100, true))
	got := withDetail("HTTP 500", []byte(strings.Repeat("b", 500)), 500, 200, false)
	assert.LessOrEqual(t, len(got), 200)
	assert.True(t, strings.HasPrefix(got, "HTTP 500: bbb"), got)
	got = withDetail("exit code 2", []byte(strings.Repeat("e", 500)+"LAST"), 504, 200, true)
	assert.LessOrEqual(t, len(got), 200)
	assert.True(t, strings.HasSuffix(got, "LAST"), got)
}

func TestHeadBuffer(t *testing.T) {
	b := &headBuffer{max: 10}
	for range 100 {
		n, err := b.Write([]byte("abc"))
		require.NoError(t, err)
		require.Equal(t, 3, n)
	}
	assert.Equal(t, "abcabcabca", string(b.buf))
	assert.Equal(t, 300, b.total)
}

func TestTailBuffer(t *testing.T) {
	var all strings.Builder
	b := &tailBuffer{max: 10}
	for i := range 200 {
		chunk := strings.Repeat(string(rune('a'+i%26)), i%13)
		all.WriteString(chunk)
		n, err := b.Write([]byte(chunk))
		require.NoError(t, err)
		require.Equal(t, len(chunk), n)
		require.LessOrEqual(t, cap(b.buf), 64, "bounded memory")
		want := all.String()
		assert.Equal(t, want[max(len(want)-10, 0):], string(b.Bytes()), "after write %d", i)
	}
	assert.Equal(t, all.Len(), b.total)
}

func TestInputEnvName(t *testing.T) {
	tests := map[string]string{
		"build":       "MAESTRO_INPUT_BUILD",
		"unit-tests":  "MAESTRO_INPUT_UNIT_TESTS",
		"deploy.prod": "MAESTRO_INPUT_DEPLOY_PROD",
		"a1_b2":       "MAESTRO_INPUT_A1_B2",
		"naïve":       "MAESTRO_INPUT_NA__VE",
	}
	for in, want := range tests {
		assert.Equal(t, want, inputEnvName(in), in)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999999", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, retryAfter(tt.header, now), "Retry-After: %q", tt.header)
	}
}

func TestRedactURL(t *testing.T) {
	u, err := url.Parse("https://user:pw@api.example.com:8443/v1/items?token=s3cret#frag")
	require.NoError(t, err)
	assert.Equal(t, "https://api.example.com:8443/v1/items", redactURL(u))
}

// An output the workflow cuts to fit a node's input ends with the marker
// dependencyInputs looks for, so that the node loads the whole output.
func TestCutOutputEndsWithTheMarker(t *testing.T) {
	whole := strings.Repeat("ü", 50_000) // 100,000 bytes
	cut := CutOutput(whole, 1000)
	assert.LessOrEqual(t, len(cut), 1000)
	m := truncatedOutput.FindStringSubmatch(cut)
	require.NotNil(t, m, cut)
	assert.Equal(t, "100000", m[2])
	assert.True(t, utf8.ValidString(cut))

	// A worker-capped output keeps the total its marker gives.
	capped, _ := capHead([]byte(whole), len(whole)*5, 4000)
	m = truncatedOutput.FindStringSubmatch(CutOutput(capped, 1000))
	require.NotNil(t, m)
	assert.Equal(t, "500000", m[2])

	assert.Equal(t, "short", CutOutput("short", 1000))
}

// Validation parses an http node's templates with the functions a worker
// gives them: the same names.
func TestHTTPFuncsMatchValidation(t *testing.T) {
	a := New(Config{})
	assert.ElementsMatch(t, slices.Collect(maps.Keys(dag.HTTPFuncs())), slices.Collect(maps.Keys(a.httpFuncs())))
}
