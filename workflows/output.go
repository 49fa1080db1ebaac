package workflows

import (
	"unicode/utf8"

	"github.com/maestrohq/maestro/run"
)

// setOutput records a result's output summary in st.
func setOutput(st *run.NodeStatus, res run.NodeResult) {
	st.OutputBytes = res.OutputBytes
	st.OutputTruncated = res.Truncated
	st.Usage = res.Usage
	st.Commit = res.Commit
	st.Output = res.Output
	if len(res.Output) > run.OutputSummaryBytes {
		st.Output = truncate(res.Output, run.OutputSummaryBytes)
		st.OutputTruncated = true
	}
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
