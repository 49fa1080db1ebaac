package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/workflows"
)

// States of a doctor check.
const (
	checkOK   = "ok"
	checkFail = "fail"
	checkSkip = "skip" // not run because an earlier check failed
)

// Names of the doctor checks, in the order they run.
const (
	checkTemporal   = "temporal"
	checkNamespace  = "namespace"
	checkWorker     = "worker"
	checkSearchAttr = "search_attributes"
)

// check is one line of the doctor's checklist.
type check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	// Fix says what to do about a failed check.
	Fix []string `json:"fix,omitempty"`
}

// diagnosis is the doctor's result, its JSON output.
type diagnosis struct {
	OK        bool    `json:"ok"`
	Address   string  `json:"address"`
	Namespace string  `json:"namespace"`
	TaskQueue string  `json:"task_queue"`
	Checks    []check `json:"checks"`
}

func (d *diagnosis) add(name, status, detail string, fix ...string) {
	d.Checks = append(d.Checks, check{Name: name, Status: status, Detail: detail, Fix: fix})
}

// skipRest marks the checks after the failed one as skipped.
func (d *diagnosis) skipRest(reason string) {
	for _, name := range []string{checkTemporal, checkNamespace, checkWorker, checkSearchAttr} {
		if !slices.ContainsFunc(d.Checks, func(c check) bool { return c.Name == name }) {
			d.add(name, checkSkip, reason)
		}
	}
}

func (d *diagnosis) failed() int {
	n := 0
	for _, c := range d.Checks {
		if c.Status == checkFail {
			n++
		}
	}
	return n
}

// cmdDoctor checks that Maestro can work: Temporal reachable, the namespace
// there, a worker polling the task queue and the search attributes
// registered.
func cmdDoctor(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("doctor")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 5*time.Second, "give up on each check after `duration`")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usagef("doctor", "doctor: --timeout must be positive, got %s", *timeout)
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	cfg.Client = process.ClientOptions(cfg, a.logger(cfg), nil)
	d := diagnose(ctx, cfg, *timeout)
	if *asJSON {
		if err := writeJSON(a.stdout, d); err != nil {
			return err
		}
	} else {
		printDiagnosis(a.stdout, d)
	}
	if n := d.failed(); n > 0 {
		return fmt.Errorf("doctor: %d of %d checks failed", n, len(d.Checks))
	}
	return nil
}

// diagnose runs the checks in order; one that fails makes the ones that
// need it skipped.
func diagnose(ctx context.Context, cfg config.Config, timeout time.Duration) *diagnosis {
	ns, queue := cfg.Client.Namespace, cfg.TaskQueue
	d := &diagnosis{Address: cfg.Client.HostPort, Namespace: ns, TaskQueue: queue, Checks: []check{}}
	defer func() { d.OK = d.failed() == 0 }()
	within := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, timeout) }

	// Temporal reachable: connect, then the gRPC health check.
	c, err := func() (client.Client, error) {
		cctx, cancel := within()
		defer cancel()
		c, err := client.DialContext(cctx, cfg.Client)
		if err != nil {
			return nil, err
		}
		if _, err := c.CheckHealth(cctx, &client.CheckHealthRequest{}); err != nil {
			c.Close()
			return nil, fmt.Errorf("health check: %w", err)
		}
		return c, nil
	}()
	if err != nil {
		d.add(checkTemporal, checkFail,
			fmt.Sprintf("cannot connect to Temporal at %s: %v", cfg.Client.HostPort, err),
			"start a server (temporal server start-dev, maestro dev or docker compose up) or point --address / TEMPORAL_ADDRESS at one",
			"for Temporal Cloud or TLS, set TEMPORAL_API_KEY or the TEMPORAL_TLS_* variables (or a TEMPORAL_PROFILE)")
		d.skipRest("Temporal is not reachable")
		return d
	}
	defer c.Close()
	version := ""
	{
		cctx, cancel := within()
		if info, err := c.WorkflowService().GetSystemInfo(cctx, &workflowservice.GetSystemInfoRequest{}); err == nil && info.GetServerVersion() != "" {
			version = ", server " + info.GetServerVersion()
		}
		cancel()
	}
	d.add(checkTemporal, checkOK, fmt.Sprintf("reachable at %s%s", cfg.Client.HostPort, version))

	// The namespace exists.
	{
		cctx, cancel := within()
		_, err := c.WorkflowService().DescribeNamespace(cctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		cancel()
		var nf *serviceerror.NamespaceNotFound
		var nf2 *serviceerror.NotFound
		switch {
		case errors.As(err, &nf), errors.As(err, &nf2):
			d.add(checkNamespace, checkFail, fmt.Sprintf("namespace %q does not exist", ns),
				fmt.Sprintf("temporal operator namespace create --namespace %s, or use --namespace / TEMPORAL_NAMESPACE", ns))
			d.skipRest(fmt.Sprintf("namespace %q does not exist", ns))
			return d
		case err != nil:
			d.add(checkNamespace, checkFail, fmt.Sprintf("cannot describe namespace %q: %v", ns, err))
			d.skipRest(fmt.Sprintf("namespace %q could not be described", ns))
			return d
		}
		d.add(checkNamespace, checkOK, fmt.Sprintf("%q exists", ns))
	}

	// A worker polls the task queue, for workflow and for activity tasks.
	{
		count := func(typ enumspb.TaskQueueType) (int, error) {
			cctx, cancel := within()
			defer cancel()
			resp, err := c.DescribeTaskQueue(cctx, queue, typ)
			if err != nil {
				return 0, err
			}
			return len(resp.GetPollers()), nil
		}
		wf, err1 := count(enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		act, err2 := count(enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		switch {
		case err1 != nil || err2 != nil:
			d.add(checkWorker, checkFail, fmt.Sprintf("cannot describe task queue %q: %v", queue, errors.Join(err1, err2)))
		case wf == 0 && act == 0:
			d.add(checkWorker, checkFail,
				fmt.Sprintf("no worker polls task queue %q (0 workflow and 0 activity pollers)", queue),
				fmt.Sprintf("start a worker on it: worker --task-queue %s (env %s), or use the queue your workers poll", queue, config.EnvTaskQueue))
		case wf == 0 || act == 0:
			missing := "workflow"
			if act == 0 {
				missing = "activity"
			}
			d.add(checkWorker, checkFail,
				fmt.Sprintf("task queue %q has %d workflow and %d activity pollers: nothing polls it for %s tasks", queue, wf, act, missing),
				"a worker that is starting polls both within seconds; otherwise run Maestro's worker, which registers the workflow and the activities")
		default:
			d.add(checkWorker, checkOK, fmt.Sprintf("task queue %q has %d workflow and %d activity pollers", queue, wf, act))
		}
	}

	// Maestro's search attributes are registered with the right types.
	{
		cctx, cancel := within()
		resp, err := c.OperatorService().ListSearchAttributes(cctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
		cancel()
		if err != nil {
			d.add(checkSearchAttr, checkFail, fmt.Sprintf("cannot list the search attributes of %q: %v", ns, err))
			return d
		}
		have := resp.GetCustomAttributes()
		want := workflows.SearchAttributes()
		var missing, wrong []string
		var fix []string
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
		switch {
		case len(missing) > 0 || len(wrong) > 0:
			var parts []string
			if len(missing) > 0 {
				parts = append(parts, "missing: "+strings.Join(missing, ", "))
			}
			if len(wrong) > 0 {
				parts = append(parts, "wrong type: "+strings.Join(wrong, "; "))
			}
			d.add(checkSearchAttr, checkFail, strings.Join(parts, "; "), fix...)
		default:
			d.add(checkSearchAttr, checkOK, strings.Join(slices.Sorted(maps.Keys(want)), ", ")+" registered")
		}
	}
	return d
}

// typeName turns KEYWORD into Keyword, as the temporal CLI spells types.
func typeName(upper string) string {
	if upper == "" {
		return upper
	}
	return upper[:1] + strings.ToLower(upper[1:])
}

// printDiagnosis prints the checklist.
func printDiagnosis(w io.Writer, d *diagnosis) {
	fmt.Fprintf(w, "Temporal %s, namespace %s, task queue %s\n\n", d.Address, d.Namespace, d.TaskQueue)
	tw := newTable(w)
	for _, c := range d.Checks {
		mark := map[string]string{checkOK: "[ok]", checkFail: "[FAIL]", checkSkip: "[skip]"}[c.Status]
		fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, strings.ReplaceAll(c.Name, "_", " "), oneLine(c.Detail))
		for _, f := range c.Fix {
			fmt.Fprintf(tw, "\t\t  fix: %s\n", f)
		}
	}
	tw.Flush()
}
