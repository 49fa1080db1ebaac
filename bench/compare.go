package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
)

// Options configure a side-by-side comparison. Client, TaskQueue and Runs
// are required; zero sizes take the defaults below.
type Options struct {
	// Client reaches the Temporal server.
	Client client.Client
	// TaskQueue is polled by a worker that runs both Maestro's DAGWorkflow
	// (with its node activities) and the plain workflow (RegisterPlain).
	TaskQueue string
	// Runs starts Maestro's runs on TaskQueue.
	Runs *runs.Service
	// Log receives progress lines; nil discards them.
	Log io.Writer

	// LatencyRuns is the number of sequential SDLC-7 runs of each workflow
	// (default 50).
	LatencyRuns int
	// ThroughputRuns is the number of runs of each workflow at each of
	// Concurrency (default 200).
	ThroughputRuns int
	// Concurrency lists the throughput levels (default 20 and 100).
	Concurrency []int
	// ChainNodes is the length of the chain that measures per-step
	// overhead (default 50).
	ChainNodes int
	// Repeats is how many times the chain and the uneven DAG run; the
	// median counts (default 3).
	Repeats int
	// ScaleSizes are the node counts of the scale curve (default 500,
	// 1,000, 2,000, 5,000, 10,000), in increasing order.
	ScaleSizes []int
	// ScaleWidth is the layer width of the scale curve's pipelines
	// (default 500).
	ScaleWidth int
	// PlainScaleMax is the biggest size the plain workflow runs on the
	// scale curve (default 2,000): it has no continue-as-new, and its
	// history nears Temporal's 10,240-event warning there.
	PlainScaleMax int
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.LatencyRuns, 50)
	def(&o.ThroughputRuns, 200)
	def(&o.ChainNodes, 50)
	def(&o.Repeats, 3)
	def(&o.ScaleWidth, 500)
	def(&o.PlainScaleMax, 2000)
	if len(o.Concurrency) == 0 {
		o.Concurrency = []int{20, 100}
	}
	if len(o.ScaleSizes) == 0 {
		o.ScaleSizes = []int{500, 1000, 2000, 5000, dag.MaxNodes}
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// Pair is one measurement of Maestro and of the plain workflow.
type Pair struct {
	Maestro, Plain float64
}

// Ratio is Maestro's figure over the plain workflow's.
func (p Pair) Ratio() float64 { return p.Maestro / p.Plain }

// Throughput is the runs per second of both workflows at one concurrency,
// and the process CPU time each run cost (worker, client and embedded
// server: everything a run makes the machine do), which the machine's noise
// moves less than the runs per second.
type Throughput struct {
	Concurrency, Runs int
	RunsPerSecond     Pair
	// CPUPerRun is in milliseconds.
	CPUPerRun Pair
}

// ScalePoint is one size of the scale curve.
type ScalePoint struct {
	Nodes int
	// Wall is from the start to the result.
	Wall time.Duration
	// Parts, Events and Bytes count every run of the continue-as-new
	// chain; MaxEvents and MaxBytes are the biggest part's.
	Parts, Events, Bytes, MaxEvents, MaxBytes int
	// Replay is the time to replay the biggest part, and ReplayAlloc the
	// bytes allocated doing it.
	Replay      time.Duration
	ReplayAlloc uint64
	// PeakRSS is the process's VmHWM after this size ran (the whole
	// process: worker, client and embedded server).
	PeakRSS uint64
	// Plain is the plain workflow's run of the same size, level by level;
	// nil above Options.PlainScaleMax.
	Plain *PlainPoint
}

// PlainPoint is the plain workflow's run on the scale curve.
type PlainPoint struct {
	Wall          time.Duration
	Events, Bytes int
	Replay        time.Duration
	ReplayAlloc   uint64
}

// Report holds every figure of a comparison.
type Report struct {
	// Command is the command that made the report, for its Markdown;
	// empty means Command.
	Command     string
	LatencyRuns int
	// SDLCP50 and SDLCP90 are the SDLC-7 latencies, start to result, in
	// milliseconds.
	SDLCP50, SDLCP90 Pair
	Throughput       []Throughput
	// ChainNodes and StepMillis: the median wall of a chain over its
	// length.
	ChainNodes int
	StepMillis Pair
	// Uneven: the median wall of the uneven DAG over its critical path;
	// the plain workflow runs it level by level.
	UnevenCritical time.Duration
	UnevenLevels   time.Duration
	Uneven         Pair
	// UnevenAlone is the plain workflow's median wall over the critical
	// path when it runs the critical path alone, as a sequence.
	UnevenAlone float64
	Scale       []ScalePoint
}

// Compare measures Maestro's DAGWorkflow and the plain workflow side by
// side, on the worker and server o names. Every run is bounded by ctx and
// by its own timeout.
func Compare(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	if o.Client == nil || o.Runs == nil || o.TaskQueue == "" {
		return nil, errors.New("bench: Client, TaskQueue and Runs are required")
	}
	r := &Report{LatencyRuns: o.LatencyRuns, ChainNodes: o.ChainNodes}
	steps := []struct {
		name string
		run  func(context.Context, *Options, *Report) error
	}{
		{"SDLC-7 latency", latency},
		{"throughput", throughputs},
		{"chain", chain},
		{"uneven DAG", uneven},
		{"scale curve", scale},
	}
	for _, s := range steps {
		fmt.Fprintf(o.Log, "bench: %s\n", s.name)
		if err := s.run(ctx, &o, r); err != nil {
			return r, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return r, nil
}

// maestroRun starts a Maestro run and waits for its result, which must be
// completed; it returns the run's wall time and workflow ID.
func maestroRun(ctx context.Context, o *Options, req runs.StartRequest, timeout time.Duration) (time.Duration, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	began := time.Now()
	started, err := o.Runs.Start(ctx, req)
	if err != nil {
		return 0, "", fmt.Errorf("start a maestro run: %w", err)
	}
	var st run.Status
	if err := o.Client.GetWorkflow(ctx, started.WorkflowID, "").Get(ctx, &st); err != nil {
		return 0, "", fmt.Errorf("maestro run %s: %w", started.WorkflowID, err)
	}
	wall := time.Since(began)
	if st.Status != run.Completed {
		return 0, "", fmt.Errorf("maestro run %s ended %s", started.WorkflowID, st.Status)
	}
	return wall, started.WorkflowID, nil
}

// plainRun starts the plain workflow on root and waits for its result; it
// returns the run's wall time and workflow ID.
func plainRun(ctx context.Context, o *Options, root Statement, timeout time.Duration) (time.Duration, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	began := time.Now()
	we, err := o.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       "plain-" + uuid.NewString(),
		TaskQueue:                o.TaskQueue,
		WorkflowExecutionTimeout: timeout,
	}, PlainWorkflowName, root)
	if err != nil {
		return 0, "", fmt.Errorf("start a plain run: %w", err)
	}
	var n int
	if err := we.Get(ctx, &n); err != nil {
		return 0, "", fmt.Errorf("plain run %s: %w", we.GetID(), err)
	}
	wall := time.Since(began)
	if want := root.Steps(); n != want {
		return 0, "", fmt.Errorf("plain run %s ran %d steps of %d", we.GetID(), n, want)
	}
	return wall, we.GetID(), nil
}

// sdlcPlain is the SDLC template's shape as a plain workflow.
func sdlcPlain() Statement {
	return Seq(
		Act("requirements", 0), Act("design", 0),
		Par(Act("backend", 0), Act("frontend", 0)),
		Act("testing", 0), Act("review", 0), Act("deployment", 0),
	)
}

func sdlcRequest() runs.StartRequest {
	return runs.StartRequest{Template: templates.SDLCParallel, Requirement: "benchmark"}
}

const smallRunTimeout = time.Minute

// latency runs the SDLC-7 pipeline and its plain twin one after the other,
// alternating so that both see the same noise, after a few warm-up runs.
func latency(ctx context.Context, o *Options, r *Report) error {
	var m, p []time.Duration
	for i := range o.LatencyRuns + 3 {
		dm, _, err := maestroRun(ctx, o, sdlcRequest(), smallRunTimeout)
		if err != nil {
			return err
		}
		dp, _, err := plainRun(ctx, o, sdlcPlain(), smallRunTimeout)
		if err != nil {
			return err
		}
		if i >= 3 {
			m, p = append(m, dm), append(p, dp)
		}
	}
	r.SDLCP50 = Pair{millis(percentile(m, 50)), millis(percentile(p, 50))}
	r.SDLCP90 = Pair{millis(percentile(m, 90)), millis(percentile(p, 90))}
	return nil
}

// throughputs runs ThroughputRuns SDLC-7 runs of each workflow at each
// concurrency, in rounds of at least the concurrency (up to 4 rounds),
// Maestro's and the plain workflow's alternating so that both see the same
// noise; runs per second are the runs over the summed walls of the rounds.
func throughputs(ctx context.Context, o *Options, r *Report) error {
	maestro := func(ctx context.Context) error {
		_, _, err := maestroRun(ctx, o, sdlcRequest(), 5*time.Minute)
		return err
	}
	plain := func(ctx context.Context) error {
		_, _, err := plainRun(ctx, o, sdlcPlain(), 5*time.Minute)
		return err
	}
	for _, c := range o.Concurrency {
		rounds := max(1, min(4, o.ThroughputRuns/c))
		var m, p, mCPU, pCPU time.Duration
		done := 0
		for i := range rounds {
			n := o.ThroughputRuns / rounds
			if i == rounds-1 {
				n = o.ThroughputRuns - done
			}
			// Rounds alternate which goes first, so that neither always
			// runs on the other's leftovers (timers firing, a bigger
			// database).
			first, second := maestro, plain
			if i%2 == 1 {
				first, second = plain, maestro
			}
			d1, c1, err := measured(ctx, n, c, first)
			if err != nil {
				return err
			}
			d2, c2, err := measured(ctx, n, c, second)
			if err != nil {
				return err
			}
			if i%2 == 1 {
				d1, d2, c1, c2 = d2, d1, c2, c1
			}
			m, p, mCPU, pCPU, done = m+d1, p+d2, mCPU+c1, pCPU+c2, done+n
		}
		rate := func(d time.Duration) float64 { return float64(o.ThroughputRuns) / d.Seconds() }
		perRun := func(d time.Duration) float64 { return millis(d) / float64(o.ThroughputRuns) }
		r.Throughput = append(r.Throughput, Throughput{Concurrency: c, Runs: o.ThroughputRuns,
			RunsPerSecond: Pair{rate(m), rate(p)}, CPUPerRun: Pair{perRun(mCPU), perRun(pCPU)}})
	}
	return nil
}

// measured runs concurrently and also returns the process CPU time it took.
func measured(ctx context.Context, total, conc int, one func(context.Context) error) (time.Duration, time.Duration, error) {
	before, err := processCPU()
	if err != nil {
		return 0, 0, err
	}
	wall, err := concurrently(ctx, total, conc, one)
	if err != nil {
		return 0, 0, err
	}
	after, err := processCPU()
	if err != nil {
		return 0, 0, err
	}
	return wall, after - before, nil
}

// concurrently runs one total times, conc at once, and returns the wall
// time; the first error stops it.
func concurrently(ctx context.Context, total, conc int, one func(context.Context) error) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	began := time.Now()
	for range conc {
		wg.Go(func() {
			for next.Add(1) <= int64(total) {
				if err := one(ctx); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return time.Since(began), nil
}

// chainPipeline is n no-op nodes, each after the one before.
func chainPipeline(n int) *dag.Pipeline {
	p := &dag.Pipeline{Name: "bench-chain", Mode: dag.ModeDAGParallel, Nodes: make([]dag.Node, n)}
	for i := range n {
		p.Nodes[i] = dag.Node{ID: nodeID(i), Executor: dag.Executor{Kind: dag.KindNoop}}
		if i > 0 {
			p.Nodes[i].DependsOn = []string{nodeID(i - 1)}
		}
	}
	return p
}

// chain measures the wall time per step of a chain.
func chain(ctx context.Context, o *Options, r *Report) error {
	acts := make([]Statement, o.ChainNodes)
	for i := range acts {
		acts[i] = Act(nodeID(i), 0)
	}
	m, p, err := repeat(ctx, o, runs.StartRequest{DAG: chainPipeline(o.ChainNodes)}, Seq(acts...))
	if err != nil {
		return err
	}
	r.StepMillis = Pair{millis(m) / float64(o.ChainNodes), millis(p) / float64(o.ChainNodes)}
	return nil
}

// repeat runs a Maestro request and a plain statement Repeats times,
// alternating, and returns the median walls.
func repeat(ctx context.Context, o *Options, req runs.StartRequest, root Statement) (time.Duration, time.Duration, error) {
	var m, p []time.Duration
	for range o.Repeats {
		dm, _, err := maestroRun(ctx, o, req, smallRunTimeout)
		if err != nil {
			return 0, 0, err
		}
		dp, _, err := plainRun(ctx, o, root, smallRunTimeout)
		if err != nil {
			return 0, 0, err
		}
		m, p = append(m, dm), append(p, dp)
	}
	return percentile(m, 50), percentile(p, 50), nil
}

// unevenNode is one node of the uneven DAG.
type unevenNode struct {
	id   string
	d    time.Duration
	deps []string
}

// unevenDAG has two branches of 1 s each, made of steps of different
// lengths (a: 600 + 200 + 200 ms; b: 200 + 800 ms), and a check x after
// the first step of each, which makes it no nesting of sequences and
// parallel blocks: a plain workflow runs it level by level.
var unevenDAG = []unevenNode{
	{"start", 0, nil},
	{"a1", 600 * time.Millisecond, []string{"start"}},
	{"b1", 200 * time.Millisecond, []string{"start"}},
	{"a2", 200 * time.Millisecond, []string{"a1"}},
	{"b2", 800 * time.Millisecond, []string{"b1"}},
	{"x", 0, []string{"a1", "b1"}},
	{"a3", 200 * time.Millisecond, []string{"a2"}},
	{"end", 0, []string{"a3", "b2", "x"}},
}

// unevenCritical is the uneven DAG's critical path.
const unevenCritical = time.Second

// unevenPlain is the uneven DAG level by level (each node in the level after
// its deepest dependency), and the sum of each level's longest step.
func unevenPlain() (Statement, time.Duration) {
	level := map[string]int{}
	var levels [][]unevenNode
	for _, n := range unevenDAG {
		l := 0
		for _, d := range n.deps {
			l = max(l, level[d]+1)
		}
		level[n.id] = l
		if l == len(levels) {
			levels = append(levels, nil)
		}
		levels[l] = append(levels[l], n)
	}
	var seq []Statement
	var total time.Duration
	for _, ns := range levels {
		var par []Statement
		var longest time.Duration
		for _, n := range ns {
			par = append(par, Act(n.id, n.d))
			longest = max(longest, n.d)
		}
		seq, total = append(seq, Par(par...)), total+longest
	}
	return Seq(seq...), total
}

func unevenPipeline() *dag.Pipeline {
	p := &dag.Pipeline{Name: "bench-uneven", Mode: dag.ModeDAGParallel}
	for _, n := range unevenDAG {
		spec := &dag.NoopSpec{}
		if n.d > 0 {
			spec.Duration = dag.Duration(n.d.String())
		}
		p.Nodes = append(p.Nodes, dag.Node{ID: n.id, DependsOn: n.deps, Executor: dag.NewExecutor(spec)})
	}
	return p
}

// unevenCriticalChain is the uneven DAG's critical path alone, as a plain
// sequence: the same dependent hops with nothing beside them, the floor any
// workflow on this server and worker can reach for the DAG. Of paths equally
// long it takes the one with the most steps (the most hops to pay for).
func unevenCriticalChain() Statement {
	type best struct {
		d     time.Duration
		steps int
		prev  string
	}
	longest := map[string]best{}
	longer := func(a, b best) bool { return a.d > b.d || (a.d == b.d && a.steps > b.steps) }
	last := ""
	for _, n := range unevenDAG { // in dependency order
		var b best
		for _, d := range n.deps {
			if c := (best{longest[d].d, longest[d].steps, d}); longer(c, b) {
				b = c
			}
		}
		b.d, b.steps = b.d+n.d, b.steps+1
		longest[n.id] = b
		if last == "" || longer(b, longest[last]) {
			last = n.id
		}
	}
	durations := map[string]time.Duration{}
	for _, n := range unevenDAG {
		durations[n.id] = n.d
	}
	var path []Statement
	for id := last; id != ""; id = longest[id].prev {
		path = append([]Statement{Act(id, durations[id])}, path...)
	}
	return Seq(path...)
}

// uneven measures wall over critical path on the uneven DAG: Maestro's run
// of the DAG, the plain workflow's level by level, and the plain
// workflow's run of the critical path alone.
func uneven(ctx context.Context, o *Options, r *Report) error {
	root, levels := unevenPlain()
	m, p, err := repeat(ctx, o, runs.StartRequest{DAG: unevenPipeline()}, root)
	if err != nil {
		return err
	}
	var alone []time.Duration
	for range o.Repeats {
		d, _, err := plainRun(ctx, o, unevenCriticalChain(), smallRunTimeout)
		if err != nil {
			return err
		}
		alone = append(alone, d)
	}
	r.UnevenCritical, r.UnevenLevels = unevenCritical, levels
	r.Uneven = Pair{m.Seconds() / unevenCritical.Seconds(), p.Seconds() / unevenCritical.Seconds()}
	r.UnevenAlone = percentile(alone, 50).Seconds() / unevenCritical.Seconds()
	return nil
}

// scale runs the scale curve: Maestro at every size, the plain workflow up
// to PlainScaleMax, each followed by reading its history and replaying its
// biggest part.
func scale(ctx context.Context, o *Options, r *Report) error {
	for _, n := range o.ScaleSizes {
		fmt.Fprintf(o.Log, "bench: scale %d nodes\n", n)
		wall, id, err := maestroRun(ctx, o, runs.StartRequest{DAG: Layered(fmt.Sprintf("bench-%d", n), n, o.ScaleWidth, o.ScaleWidth)}, 15*time.Minute)
		if err != nil {
			return err
		}
		pt := ScalePoint{Nodes: n, Wall: wall}
		hs, err := readChain(ctx, o.Client, id)
		if err != nil {
			return err
		}
		pt.Parts, pt.Events, pt.Bytes, pt.MaxEvents, pt.MaxBytes = hs.parts, hs.events, hs.bytes, hs.maxEvents, hs.maxBytes
		if pt.Replay, pt.ReplayAlloc, err = replayHistory(hs.biggest); err != nil {
			return err
		}
		if n <= o.PlainScaleMax {
			if pt.Plain, err = plainScale(ctx, o, n); err != nil {
				return err
			}
		}
		pt.PeakRSS, err = peakRSS()
		if err != nil {
			return err
		}
		r.Scale = append(r.Scale, pt)
	}
	return nil
}

// plainScale runs n steps as the plain workflow, in parallel blocks of the
// scale width one after the other (the layered pipeline level by level).
func plainScale(ctx context.Context, o *Options, n int) (*PlainPoint, error) {
	var seq []Statement
	for i := 0; i < n; i += o.ScaleWidth {
		var par []Statement
		for j := i; j < min(n, i+o.ScaleWidth); j++ {
			par = append(par, Act(nodeID(j), 0))
		}
		seq = append(seq, Par(par...))
	}
	wall, id, err := plainRun(ctx, o, Seq(seq...), 15*time.Minute)
	if err != nil {
		return nil, err
	}
	hs, err := readChain(ctx, o.Client, id)
	if err != nil {
		return nil, err
	}
	pp := &PlainPoint{Wall: wall, Events: hs.events, Bytes: hs.bytes}
	if pp.Replay, pp.ReplayAlloc, err = replayHistory(hs.biggest); err != nil {
		return nil, err
	}
	return pp, nil
}

// percentile is the nearest-rank p-th percentile of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
