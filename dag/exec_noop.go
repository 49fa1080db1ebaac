package dag

// KindNoop waits, then succeeds with a fixed output: for demos and tests of
// the engine.
const KindNoop = "noop"

// NoopSpec configures a noop node.
type NoopSpec struct {
	// Duration is how long the node takes.
	Duration Duration `json:"duration,omitempty"`
	// FailAttempts makes the first N attempts fail.
	FailAttempts int `json:"fail_attempts,omitempty"`
	// Output is the node's output; default "<id> done".
	Output string `json:"output,omitempty"`
}

// Kind returns KindNoop.
func (*NoopSpec) Kind() string { return KindNoop }

// standalone: a noop node reads only its own spec and ID.
func (*NoopSpec) standalone() bool { return true }

// Validate checks the duration and fail_attempts.
func (s *NoopSpec) Validate() []Problem {
	var ps problems
	ps.duration("duration", s.Duration)
	if s.FailAttempts < 0 {
		ps.add("fail_attempts", "must not be negative, got %d", s.FailAttempts)
	}
	return ps
}
