package runs

import enumspb "go.temporal.io/api/enums/v1"

// Config returns the service's effective configuration, defaults applied, so
// that callers (the REST API, for instance) validate and report exactly as the
// service starts runs.
func (s *Service) Config() Config { return s.cfg }

// RunState translates a Temporal execution status into a run-state word
// (running, completed, failed, cancelled, terminated, timed_out, …), as List
// reports it.
func RunState(st enumspb.WorkflowExecutionStatus) string { return runState(st) }
