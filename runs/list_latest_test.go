package runs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/maestrohq/maestro/run"
)

func TestLatestRunsKeepsTheCurrentExecutionOfEachID(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	at := func(m int) *time.Time { x := t0.Add(time.Duration(m) * time.Minute); return &x }
	r := func(id, runID string, start int, end *time.Time, st run.State) RunSummary {
		return RunSummary{WorkflowID: id, RunID: runID, StartedAt: *at(start), EndedAt: end, Status: st}
	}
	tests := []struct {
		name string
		in   []RunSummary
		want []string // run IDs
	}{
		{"distinct IDs stay", []RunSummary{r("a", "1", 2, nil, run.Running), r("b", "2", 1, at(3), run.Completed)}, []string{"1", "2"}},
		{"open wins over closed", []RunSummary{r("a", "old", 1, at(2), run.Completed), r("b", "x", 1, nil, run.Running), r("a", "new", 1, nil, run.Running)}, []string{"new", "x"}},
		{"closed last wins", []RunSummary{r("a", "old", 1, at(2), run.Completed), r("a", "new", 1, at(5), run.Completed)}, []string{"new"}},
		{"an earlier-closed one does not replace", []RunSummary{r("a", "new", 1, at(5), run.Completed), r("a", "old", 1, at(2), run.Terminated)}, []string{"new"}},
		{"empty", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, s := range latestRuns(tc.in) {
				got = append(got, s.RunID)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}
