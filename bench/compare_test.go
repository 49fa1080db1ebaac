package bench

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/runs"
)

// compareOptions starts one worker on a new task queue of the embedded
// server that runs both Maestro's DAGWorkflow (and its node activities) and
// the plain workflow, and returns options naming it; the worker stops when
// the test ends.
func compareOptions(tb testing.TB) Options {
	tb.Helper()
	q := "bench-" + uuid.NewString()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	w := process.NewWorker(server.Client, q, worker.Options{WorkerStopTimeout: 2 * time.Second}, activities.Config{Logger: quiet})
	RegisterPlain(w)
	require.NoError(tb, w.Start())
	tb.Cleanup(w.Stop)
	return Options{
		Client:    server.Client,
		TaskQueue: q,
		Runs:      runs.New(server.Client, runs.Config{TaskQueue: q, DefaultMode: dag.ModeDAGParallel}),
	}
}

// TestCompareSmall runs every measurement of the comparison at a tiny size
// and checks the report's tables.
func TestCompareSmall(t *testing.T) {
	o := compareOptions(t)
	o.LatencyRuns, o.ThroughputRuns, o.Concurrency = 2, 4, []int{2}
	o.ChainNodes, o.Repeats = 5, 1
	o.ScaleSizes, o.ScaleWidth, o.PlainScaleMax = []int{20, 40}, 10, 20
	o.Log = os.Stderr
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := Compare(ctx, o)
	require.NoError(t, err)

	assert.Positive(t, r.SDLCP50.Maestro)
	assert.Positive(t, r.SDLCP50.Plain)
	require.Len(t, r.Throughput, 1)
	assert.Positive(t, r.Throughput[0].RunsPerSecond.Plain)
	assert.Positive(t, r.Throughput[0].CPUPerRun.Maestro)
	assert.Positive(t, r.Throughput[0].CPUPerRun.Plain)
	assert.Positive(t, r.StepMillis.Maestro)
	assert.GreaterOrEqual(t, r.Uneven.Maestro, 1.0, "no run beats its critical path")
	assert.GreaterOrEqual(t, r.Uneven.Plain, 1.6, "level by level takes 1.6 s of steps")
	assert.Equal(t, 1600*time.Millisecond, r.UnevenLevels)
	assert.GreaterOrEqual(t, r.UnevenAlone, 1.0, "the critical path alone takes at least its steps")
	require.Len(t, r.Scale, 2)
	assert.Equal(t, 1, r.Scale[0].Parts)
	assert.Greater(t, r.Scale[0].Events, 20*4, "about 5 events a node")
	assert.NotNil(t, r.Scale[0].Plain)
	assert.Nil(t, r.Scale[1].Plain, "above PlainScaleMax")
	assert.Positive(t, r.Scale[1].PeakRSS)

	var b bytes.Buffer
	require.NoError(t, r.Markdown(&b, ThisMachine()))
	md := b.String()
	t.Log(md)
	for _, want := range []string{"## Results", Command, "| SDLC-7 latency p50", "| Throughput, 2 concurrent", "| CPU per run at 2 concurrent", "| Uneven DAG against its critical path alone", "| 20 |", "| 40 |"} {
		assert.Contains(t, md, want)
	}
	assert.Equal(t, 2, strings.Count(md, "\n| 20 |"), "Maestro's and the plain workflow's row")
}

// BenchmarkCompare is `maestro bench` as a benchmark: Run with its own
// embedded server (beside the tests' idle one, which the peak RSS then
// includes), printing the Markdown for docs/BENCHMARKS.md. It takes several
// minutes: go test -run XXX -bench Compare -benchtime 1x -timeout 60m ./bench/
func BenchmarkCompare(b *testing.B) {
	for range b.N {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
		err := Run(ctx, RunOptions{Log: os.Stderr}, os.Stdout)
		cancel()
		require.NoError(b, err)
	}
}

func TestUnevenCriticalChainIsTheLongestPath(t *testing.T) {
	var ids []string
	var total time.Duration
	for _, s := range unevenCriticalChain().Sequence {
		ids = append(ids, s.Activity.ID)
		total += s.Activity.Sleep
	}
	assert.Equal(t, []string{"start", "a1", "a2", "a3", "end"}, ids)
	assert.Equal(t, unevenCritical, total)
}
