package workflows

import (
	"unicode/utf8"

	"github.com/maestrohq/maestro/activities"
)

// setOutput records a result's output summary in st.
func setOutput(st *NodeStatus, res activities.NodeResult) {
	st.OutputBytes = res.OutputBytes
	st.OutputTruncated = res.Truncated
	st.Usage = res.Usage
	st.Output = res.Output
	if len(res.Output) > OutputSummaryBytes {
		st.Output = truncate(res.Output, OutputSummaryBytes)
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
