package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Machine describes where a comparison ran.
type Machine struct {
	CPUs      int
	CPUModel  string
	GoVersion string
	Date      time.Time
}

// ThisMachine describes the current machine.
func ThisMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), CPUModel: "unknown", GoVersion: runtime.Version(), Date: time.Now().UTC()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// Markdown writes the report as a section of docs/BENCHMARKS.md: the
// machine, the command and the tables.
func (r *Report) Markdown(w io.Writer, m Machine) error {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p("## Results\n\n")
	p("Machine: %d CPUs, %s, %s, %s.\n\n", m.CPUs, m.CPUModel, m.GoVersion, m.Date.Format("2006-01-02 15:04 UTC"))
	cmd := r.Command
	if cmd == "" {
		cmd = Command
	}
	p("Command:\n\n```sh\n%s\n```\n\n", cmd)

	p("### Small pipelines\n\n")
	p("| Measurement | Maestro | Plain workflow | Maestro / plain |\n|---|---:|---:|---:|\n")
	p("| SDLC-7 latency p50 (%d sequential runs each) | %.1f ms | %.1f ms | %.2f× |\n", r.LatencyRuns, r.SDLCP50.Maestro, r.SDLCP50.Plain, r.SDLCP50.Ratio())
	p("| SDLC-7 latency p90 | %.1f ms | %.1f ms | %.2f× |\n", r.SDLCP90.Maestro, r.SDLCP90.Plain, r.SDLCP90.Ratio())
	for _, t := range r.Throughput {
		p("| Throughput, %d concurrent (%d SDLC-7 runs each) | %.1f runs/s | %.1f runs/s | %.2f× |\n",
			t.Concurrency, t.Runs, t.RunsPerSecond.Maestro, t.RunsPerSecond.Plain, t.RunsPerSecond.Ratio())
		p("| CPU per run at %d concurrent (the whole process: worker, client, server) | %.1f ms | %.1f ms | %.2f× |\n",
			t.Concurrency, t.CPUPerRun.Maestro, t.CPUPerRun.Plain, t.CPUPerRun.Ratio())
	}
	p("| Per step, %d-node chain (median wall / %d) | %.2f ms | %.2f ms | %.2f× |\n", r.ChainNodes, r.ChainNodes, r.StepMillis.Maestro, r.StepMillis.Plain, r.StepMillis.Ratio())
	p("| Uneven DAG, wall / critical path (%s; level by level %s) | %.3f | %.3f (level by level) | %.2f× |\n",
		r.UnevenCritical, r.UnevenLevels, r.Uneven.Maestro, r.Uneven.Plain, r.Uneven.Ratio())
	p("| Uneven DAG against its critical path alone as a plain sequence (the floor), wall / critical path | %.3f | %.3f (critical path alone) | %.2f× |\n\n",
		r.Uneven.Maestro, r.UnevenAlone, r.Uneven.Maestro/r.UnevenAlone)

	p("### Scale curve\n\n")
	p("Layered pipelines of no-op nodes, layers of up to 500 (each node after two of the layer before), at most 500 running. ")
	p("History counts every part of the continue-as-new chain; replay is of the biggest part. ")
	p("Peak RSS is the whole benchmark process (worker, client and embedded server) after each size, so it only grows.\n\n")
	p("| Nodes | Wall | Parts | Events (biggest part) | History | Bytes / node | Replay of biggest part | Allocated in replay | Peak RSS |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Scale {
		p("| %d | %.1f s | %d | %d (%d) | %.2f MB | %.0f | %d ms | %.1f MB | %.0f MB |\n",
			s.Nodes, s.Wall.Seconds(), s.Parts, s.Events, s.MaxEvents, mb(uint64(s.Bytes)), float64(s.Bytes)/float64(s.Nodes),
			s.Replay.Milliseconds(), mb(s.ReplayAlloc), mb(s.PeakRSS))
	}
	p("\nThe plain workflow at the same sizes, level by level (parallel blocks of up to 500 in sequence); it has no continue-as-new, so it stops where its history nears Temporal's limits:\n\n")
	p("| Nodes | Plain wall | Maestro / plain wall | Plain events | Plain bytes / node | Maestro / plain bytes per node | Plain replay | Plain allocated in replay |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, s := range r.Scale {
		if s.Plain == nil {
			continue
		}
		pl := s.Plain
		p("| %d | %.1f s | %.2f× | %d | %.0f | %.2f× | %d ms | %.1f MB |\n",
			s.Nodes, pl.Wall.Seconds(), s.Wall.Seconds()/pl.Wall.Seconds(), pl.Events, float64(pl.Bytes)/float64(s.Nodes),
			float64(s.Bytes)/float64(pl.Bytes), pl.Replay.Milliseconds(), mb(pl.ReplayAlloc))
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

func mb(n uint64) float64 { return float64(n) / (1 << 20) }
