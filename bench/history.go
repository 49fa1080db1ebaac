package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/proto"

	"github.com/maestrohq/maestro/workflows"
)

// chainStats counts the events and bytes of every run of a workflow ID's
// continue-as-new chain, and keeps the biggest run's history.
type chainStats struct {
	parts, events, bytes int
	maxEvents, maxBytes  int
	maxEvent             int // the biggest event's bytes
	biggest              *historypb.History
}

// readChain reads the history of every run of id's chain, from the latest
// back to the first.
func readChain(ctx context.Context, c client.Client, id string) (chainStats, error) {
	var hs chainStats
	runID := ""
	for {
		desc, err := c.DescribeWorkflowExecution(ctx, id, runID)
		if err != nil {
			return hs, fmt.Errorf("describe %s: %w", id, err)
		}
		it := c.GetWorkflowHistory(ctx, id, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		h := &historypb.History{}
		bytes := 0
		prev := ""
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return hs, fmt.Errorf("history of %s: %w", id, err)
			}
			h.Events = append(h.Events, ev)
			size := proto.Size(ev)
			bytes += size
			hs.maxEvent = max(hs.maxEvent, size)
			if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				prev = a.GetContinuedExecutionRunId()
			}
		}
		hs.parts++
		hs.events += len(h.Events)
		hs.bytes += bytes
		if len(h.Events) > hs.maxEvents {
			hs.maxEvents, hs.biggest = len(h.Events), h
		}
		hs.maxBytes = max(hs.maxBytes, bytes)
		if prev == "" {
			return hs, nil
		}
		runID = prev
	}
}

// replayHistory replays h with Maestro's and the plain workflow's code and
// returns how long it took and the bytes it allocated (the process's, so
// nothing else should run meanwhile).
func replayHistory(h *historypb.History) (time.Duration, uint64, error) {
	r := worker.NewWorkflowReplayer()
	workflows.Register(r)
	registerPlainWorkflow(r)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	began := time.Now()
	err := r.ReplayWorkflowHistory(nil, h)
	took := time.Since(began)
	runtime.ReadMemStats(&after)
	if err != nil {
		return 0, 0, fmt.Errorf("replay: %w", err)
	}
	return took, after.TotalAlloc - before.TotalAlloc, nil
}

// processCPU is the CPU time (user and system) the process used so far.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("process CPU time: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// peakRSS is the process's peak resident set size in bytes (VmHWM).
func peakRSS() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc/self/status")
}
