package activities

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// headBuffer is an io.Writer that keeps the first max bytes written to it and
// counts all of them, so a chatty process never costs more than max bytes.
type headBuffer struct {
	max   int
	buf   []byte
	total int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.total += len(p)
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// tailBuffer is an io.Writer that keeps the last max bytes written to it (in
// at most 2*max bytes of memory) and counts all of them.
type tailBuffer struct {
	max   int
	buf   []byte
	total int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	t.total += n
	switch {
	case t.max <= 0:
	case n >= t.max:
		t.buf = append(t.buf[:0], p[n-t.max:]...)
	default:
		if len(t.buf)+n > 2*t.max {
			keep := t.max - n
			copy(t.buf, t.buf[len(t.buf)-keep:])
			t.buf = t.buf[:keep]
		}
		t.buf = append(t.buf, p...)
	}
	return n, nil
}

// Bytes returns the last max bytes written.
func (t *tailBuffer) Bytes() []byte {
	if len(t.buf) > t.max {
		return t.buf[len(t.buf)-t.max:]
	}
	return t.buf
}

const (
	headMarker = "\n…[truncated: %d of %d bytes shown]"
	tailMarker = "…[truncated: last %d of %d bytes shown]\n"
	textMarker = "…[truncated]"
)

// markerBudget returns how many content bytes fit in limit next to a marker
// built from format and total. When limit is too small to hold the marker
// comfortably, the content gets the whole limit and the marker comes on top.
func markerBudget(format string, total, limit int) int {
	reserve := len(fmt.Sprintf(format, total, total))
	if limit >= 2*reserve {
		return limit - reserve
	}
	return max(limit, 0)
}

// capHead returns the start of an output of total bytes whose first bytes
// are head. If total exceeds limit, the text is cut at a UTF-8 boundary and
// ends with a marker saying how much is shown; the result then has at most
// limit bytes (unless limit is tiny).
func capHead(head []byte, total, limit int) (string, bool) {
	if total <= limit && len(head) == total {
		return string(head), false
	}
	budget := min(markerBudget(headMarker, total, limit), len(head))
	cut := runeStartAtOrBefore(head, budget)
	return string(head[:cut]) + fmt.Sprintf(headMarker, cut, total), true
}

// CutOutput cuts a node's output to about limit bytes the way a worker caps
// outputs (a UTF-8-safe head and the truncation marker; more than limit
// when limit cannot hold the marker), so that a node given the cut output
// loads the whole one from the artifact store. An output a worker already
// capped keeps the size its marker gives.
func CutOutput(output string, limit int) string {
	if len(output) <= limit {
		return output
	}
	total := len(output)
	if m := truncatedOutput.FindStringSubmatchIndex(output); m != nil {
		if n, err := strconv.Atoi(output[m[4]:m[5]]); err == nil {
			total, output = n, output[:m[0]]
		}
	}
	s, _ := capHead([]byte(output), max(total, len(output)), limit)
	return s
}

// capTail returns the end of an output of total bytes whose last bytes are
// tail. If total exceeds limit, the text starts at a UTF-8 boundary with a
// marker saying how much is shown.
func capTail(tail []byte, total, limit int) string {
	if total <= limit && len(tail) == total {
		return string(tail)
	}
	budget := min(markerBudget(tailMarker, total, limit), len(tail))
	start := runeStartAtOrAfter(tail, len(tail)-budget)
	return fmt.Sprintf(tailMarker, len(tail)-start, total) + string(tail[start:])
}

// capText cuts a message to at most limit bytes at a UTF-8 boundary.
func capText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	budget := limit - len(textMarker)
	if budget < limit/2 {
		budget = limit
	}
	return s[:runeStartAtOrBefore([]byte(s), budget)] + textMarker
}

// runeStartAtOrBefore returns the largest i' <= i where b can be cut without
// splitting a UTF-8 sequence (i itself if b is not valid UTF-8 there).
func runeStartAtOrBefore(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	for j := i; j >= 0 && i-j < utf8.UTFMax; j-- {
		if utf8.RuneStart(b[j]) {
			return j
		}
	}
	return i
}

// runeStartAtOrAfter returns the smallest i' >= i where b can be cut without
// splitting a UTF-8 sequence (i itself if b is not valid UTF-8 there).
func runeStartAtOrAfter(b []byte, i int) int {
	for j := i; j < len(b) && j-i < utf8.UTFMax; j++ {
		if utf8.RuneStart(b[j]) {
			return j
		}
	}
	if i+utf8.UTFMax > len(b) {
		return len(b)
	}
	return i
}

// withDetail joins prefix and a detail text cut so that the whole fits in
// limit bytes; detail is trimmed of surrounding white space. keepTail says
// whether to keep the end of detail (stderr) or its start (a response body).
func withDetail(prefix string, detail []byte, total int, limit int, keepTail bool) string {
	d := strings.TrimSpace(string(detail))
	if d == "" {
		return prefix
	}
	prefix += ": "
	room := max(limit-len(prefix), 0)
	if keepTail {
		// Count the trimmed-away bytes as shown so the marker stays honest.
		return prefix + capTail([]byte(d), total-(len(detail)-len(d)), room)
	}
	s, _ := capHead([]byte(d), total-(len(detail)-len(d)), room)
	return prefix + s
}
