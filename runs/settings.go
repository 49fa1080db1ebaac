package runs

import (
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/maestrohq/maestro/run"
)

// Config returns the service's effective configuration, defaults applied, so
// that callers (the REST API, for instance) validate and report exactly as the
// service starts runs.
func (s *Service) Config() Config { return s.cfg }

// RunState translates a Temporal execution status into a run-state word
// (running, completed, failed, cancelled, terminated, timed_out, …). List
// refines it with the MaestroStatus search attribute (paused, and a pipeline
// timeout's timed_out); see List.
func RunState(st enumspb.WorkflowExecutionStatus) run.State { return runState(st) }
