package runs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/maestrohq/maestro/workflows"
)

// States of a health check.
const (
	CheckOK   = "ok"
	CheckFail = "fail"
	// CheckSkip marks a check not run, because an earlier one failed or
	// the service lacks what it needs (no namespace configured).
	CheckSkip = "skip"
)

// Names of the health checks, in the order Health runs them.
const (
	CheckTemporal   = "temporal"
	CheckNamespace  = "namespace"
	CheckWorker     = "worker"
	CheckSearchAttr = "search_attributes"
)

// Check is one line of a health checklist, the same as a check of `maestro
// doctor` (its JSON too); with Config.Address set, the details are doctor's
// words exactly.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	// Fix says what to do about a failed check.
	Fix []string `json:"fix,omitempty"`
}

// Health is what Service.Health found: the checks, in order, and the facts
// they established.
type Health struct {
	Namespace string `json:"namespace,omitempty"`
	TaskQueue string `json:"task_queue"`
	// Reachable says Temporal answered its health check; ServerVersion is
	// its version when it says.
	Reachable     bool   `json:"reachable"`
	ServerVersion string `json:"server_version,omitempty"`
	// WorkflowPollers and ActivityPollers count the pollers Temporal saw
	// on the task queue within PollerFresh; WorkerPolling says both are
	// positive.
	WorkflowPollers int     `json:"workflow_pollers"`
	ActivityPollers int     `json:"activity_pollers"`
	WorkerPolling   bool    `json:"worker_polling"`
	Checks          []Check `json:"checks"`
}

// OK says no check failed.
func (h *Health) OK() bool { return h.Failed() == 0 }

// Failed counts the failed checks.
func (h *Health) Failed() int {
	n := 0
	for _, c := range h.Checks {
		if c.Status == CheckFail {
			n++
		}
	}
	return n
}

// Check returns the named check, or nil.
func (h *Health) Check(name string) *Check {
	for i := range h.Checks {
		if h.Checks[i].Name == name {
			return &h.Checks[i]
		}
	}
	return nil
}

func (h *Health) add(name, status, detail string, fix ...string) {
	h.Checks = append(h.Checks, Check{Name: name, Status: status, Detail: detail, Fix: fix})
}

// skipRest marks the checks not run yet as skipped.
func (h *Health) skipRest(reason string) {
	for _, name := range []string{CheckTemporal, CheckNamespace, CheckWorker, CheckSearchAttr} {
		if h.Check(name) == nil {
			h.add(name, CheckSkip, reason)
		}
	}
}

// Health checks that runs can work, in order: Temporal reachable (with its
// server version), the namespace there, a worker polling the task queue for
// workflow and activity tasks, and Maestro's search attributes registered
// with the right types. A failed check makes the ones that need it skipped;
// without Config.Namespace the namespace and search-attribute checks are
// skipped. With Config.Host, the host checks follow (see Host): policy,
// workspace, artifacts and clock. Each check's call is bounded by ctx
// only: give it a deadline.
func (s *Service) Health(ctx context.Context) Health {
	h := s.temporalHealth(ctx)
	if s.cfg.Host != nil {
		s.checkHost(ctx, &h, s.cfg.Host)
	}
	return h
}

// temporalHealth runs the checks of Temporal, the namespace, the worker and
// the search attributes.
func (s *Service) temporalHealth(ctx context.Context) Health {
	ns, queue := s.cfg.Namespace, s.cfg.TaskQueue
	h := Health{Namespace: ns, TaskQueue: queue, Checks: []Check{}}

	at := ""
	if s.cfg.Address != "" {
		at = " at " + s.cfg.Address
	}
	if _, err := s.c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		h.add(CheckTemporal, CheckFail, fmt.Sprintf("cannot connect to Temporal%s: health check: %v", at, err),
			"start a server (temporal server start-dev, maestro dev or docker compose up) or point --address / TEMPORAL_ADDRESS at one",
			"for Temporal Cloud or TLS, set TEMPORAL_API_KEY or the TEMPORAL_TLS_* variables (or a TEMPORAL_PROFILE)")
		h.skipRest("Temporal is not reachable")
		return h
	}
	h.Reachable = true
	detail := "reachable" + at
	if info, err := s.c.WorkflowService().GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{}); err == nil && info.GetServerVersion() != "" {
		h.ServerVersion = info.GetServerVersion()
		detail += ", server " + h.ServerVersion
	}
	h.add(CheckTemporal, CheckOK, detail)

	if ns == "" {
		h.add(CheckNamespace, CheckSkip, "no namespace configured (runs.Config.Namespace)")
	} else {
		_, err := s.c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		var nf *serviceerror.NamespaceNotFound
		var nf2 *serviceerror.NotFound
		switch {
		case errors.As(err, &nf), errors.As(err, &nf2):
			h.add(CheckNamespace, CheckFail, fmt.Sprintf("namespace %q does not exist", ns),
				fmt.Sprintf("temporal operator namespace create --namespace %s, or use --namespace / TEMPORAL_NAMESPACE", ns))
			h.skipRest(fmt.Sprintf("namespace %q does not exist", ns))
			return h
		case err != nil:
			h.add(CheckNamespace, CheckFail, fmt.Sprintf("cannot describe namespace %q: %v", ns, err))
			h.skipRest(fmt.Sprintf("namespace %q could not be described", ns))
			return h
		}
		h.add(CheckNamespace, CheckOK, fmt.Sprintf("%q exists", ns))
	}

	s.checkWorker(ctx, &h)
	if ns == "" {
		h.add(CheckSearchAttr, CheckSkip, "no namespace configured (runs.Config.Namespace)")
	} else {
		s.checkSearchAttributes(ctx, &h)
	}
	return h
}

// PollerFresh is how recently Temporal must have seen a poller for the
// health check to count it. A live worker polls again at least every
// minute (the server answers an idle long poll after ~60 s; an idle
// worker's poller was last seen up to ~53 s before); Temporal keeps listing
// a stopped worker's pollers for a few minutes.
const PollerFresh = 90 * time.Second

// freshPollers counts the pollers seen within PollerFresh of now.
func freshPollers(pollers []*taskqueuepb.PollerInfo, now time.Time) int {
	n := 0
	for _, p := range pollers {
		if last := p.GetLastAccessTime(); last == nil || now.Sub(last.AsTime()) <= PollerFresh {
			n++
		}
	}
	return n
}

// checkWorker checks that a worker polls the task queue, for workflow and
// for activity tasks.
func (s *Service) checkWorker(ctx context.Context, h *Health) {
	queue := s.cfg.TaskQueue
	count := func(typ enumspb.TaskQueueType) (int, error) {
		resp, err := s.c.DescribeTaskQueue(ctx, queue, typ)
		if err != nil {
			return 0, err
		}
		return freshPollers(resp.GetPollers(), time.Now()), nil
	}
	wf, err1 := count(enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	act, err2 := count(enumspb.TASK_QUEUE_TYPE_ACTIVITY)
	h.WorkflowPollers, h.ActivityPollers = wf, act
	switch {
	case err1 != nil || err2 != nil:
		h.add(CheckWorker, CheckFail, fmt.Sprintf("cannot describe task queue %q: %v", queue, errors.Join(err1, err2)))
	case wf == 0 && act == 0:
		h.add(CheckWorker, CheckFail,
			fmt.Sprintf("no worker polls task queue %q (0 workflow and 0 activity pollers)", queue),
			fmt.Sprintf("start a worker on it: maestro worker --task-queue %s (env MAESTRO_TASK_QUEUE), or use the queue your workers poll", queue))
	case wf == 0 || act == 0:
		missing := "workflow"
		if act == 0 {
			missing = "activity"
		}
		h.add(CheckWorker, CheckFail,
			fmt.Sprintf("task queue %q has %d workflow and %d activity pollers: nothing polls it for %s tasks", queue, wf, act, missing),
			"a worker that is starting polls both within seconds; otherwise run Maestro's worker, which registers the workflow and the activities")
	default:
		h.WorkerPolling = true
		h.add(CheckWorker, CheckOK, fmt.Sprintf("task queue %q has %d workflow and %d activity pollers", queue, wf, act))
	}
}

// checkSearchAttributes checks that Maestro's search attributes are
// registered on the namespace with the right types.
func (s *Service) checkSearchAttributes(ctx context.Context, h *Health) {
	ns := s.cfg.Namespace
	resp, err := s.c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		h.add(CheckSearchAttr, CheckFail, fmt.Sprintf("cannot list the search attributes of %q: %v", ns, err))
		return
	}
	have := resp.GetCustomAttributes()
	want := workflows.SearchAttributes()
	var missing, wrong, fix []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		got, ok := have[name]
		typ := strings.TrimPrefix(want[name].String(), "INDEXED_VALUE_TYPE_")
		switch {
		case !ok:
			missing = append(missing, name)
			fix = append(fix, fmt.Sprintf("temporal operator search-attribute create --namespace %s --name %s --type %s", ns, name, typeName(typ)))
		case got != want[name]:
			wrong = append(wrong, fmt.Sprintf("%s is %s, want %s", name, typeName(strings.TrimPrefix(got.String(), "INDEXED_VALUE_TYPE_")), typeName(typ)))
		}
	}
	if len(missing) == 0 && len(wrong) == 0 {
		h.add(CheckSearchAttr, CheckOK, strings.Join(slices.Sorted(maps.Keys(want)), ", ")+" registered")
		return
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing: "+strings.Join(missing, ", "))
	}
	if len(wrong) > 0 {
		parts = append(parts, "wrong type: "+strings.Join(wrong, "; "))
	}
	h.add(CheckSearchAttr, CheckFail, strings.Join(parts, "; "), fix...)
}

// typeName turns KEYWORD into Keyword, as the temporal CLI spells types.
func typeName(upper string) string {
	if upper == "" {
		return upper
	}
	return upper[:1] + strings.ToLower(upper[1:])
}
