package workflows

import "go.temporal.io/sdk/workflow"

// MetricRunsFinished counts runs as they end, tagged with the template they
// came from ("none" for pipeline files) and their final state (completed,
// failed, cancelled or timed_out). It is recorded through
// workflow.GetMetricsHandler, which records nothing while a workflow
// replays, so each run counts once. With the OpenTelemetry Prometheus
// exporter (package metrics) it appears as maestro_runs_finished_total.
const MetricRunsFinished = "maestro_runs_finished"

// MetricRunsStarted counts runs as they start, tagged with their template
// ("none" for pipeline files), whatever started them (API, CLI, temporal
// CLI). With package metrics it appears as maestro_runs_started_total.
const MetricRunsStarted = "maestro_runs_started"

// Tags of MetricRunsFinished and MetricRunsStarted.
const (
	TagTemplate = "template"
	TagStatus   = "status"
)

// recordRunFinished counts the run's end in its final state.
func recordRunFinished(ctx workflow.Context, template, state string) {
	if template == "" {
		template = "none"
	}
	workflow.GetMetricsHandler(ctx).
		WithTags(map[string]string{TagTemplate: template, TagStatus: state}).
		Counter(MetricRunsFinished).
		Inc(1)
}

// recordRunStarted counts the run's start.
func recordRunStarted(ctx workflow.Context, template string) {
	if template == "" {
		template = "none"
	}
	workflow.GetMetricsHandler(ctx).
		WithTags(map[string]string{TagTemplate: template}).
		Counter(MetricRunsStarted).
		Inc(1)
}
