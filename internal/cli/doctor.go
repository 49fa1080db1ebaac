package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/runs"
)

// diagnosis is the doctor's result, its JSON output: runs.Health's checks
// (the same checks as the API's /health) with the connection they ran on.
type diagnosis struct {
	OK        bool         `json:"ok"`
	Address   string       `json:"address"`
	Namespace string       `json:"namespace"`
	TaskQueue string       `json:"task_queue"`
	Checks    []runs.Check `json:"checks"`
}

// failed counts the failed checks, as runs.Health does.
func (d *diagnosis) failed() int { return (&runs.Health{Checks: d.Checks}).Failed() }

// cmdDoctor checks that Maestro can work: Temporal reachable, the namespace
// there, a worker polling the task queue and the search attributes
// registered; and this host as a worker's: the worker policy loads, the
// workspace directory is writable with git recent enough, the artifact
// directory is writable, and the clock agrees with Temporal's.
func cmdDoctor(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("doctor")
	asJSON := fs.Bool("json", false, "print JSON")
	timeout := fs.Duration("timeout", 5*time.Second, fmt.Sprintf("allow each of the %d checks `duration` (their budget is shared)", healthChecks))
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usagef("doctor", "doctor: --timeout must be positive, got %s", *timeout)
	}
	cfg, err := a.connConfig()
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

// diagnose runs runs.Health's checks on a lazy connection, so that a server
// that cannot be reached is a failed check, not an error; each check may take
// up to timeout.
func diagnose(ctx context.Context, cfg config.Config, timeout time.Duration) *diagnosis {
	d := &diagnosis{Address: cfg.Client.HostPort, Namespace: cfg.Client.Namespace, TaskQueue: cfg.TaskQueue}
	c, err := client.NewLazyClient(cfg.Client)
	if err != nil {
		d.Checks = []runs.Check{{Name: runs.CheckTemporal, Status: runs.CheckFail,
			Detail: fmt.Sprintf("cannot connect to Temporal at %s: %v", cfg.Client.HostPort, err)}}
		return d
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, healthChecks*timeout)
	defer cancel()
	h := process.DoctorRuns(c, cfg).Health(ctx)
	d.Checks, d.OK = h.Checks, h.OK()
	return d
}

// healthChecks is how many checks runs.Health makes for the doctor (the
// Temporal checks and the host checks).
const healthChecks = 8

func printDiagnosis(w io.Writer, d *diagnosis) {
	fmt.Fprintf(w, "Temporal %s, namespace %s, task queue %s\n\n", d.Address, d.Namespace, d.TaskQueue)
	tw := newTable(w)
	for _, c := range d.Checks {
		mark := map[string]string{runs.CheckOK: "[ok]", runs.CheckFail: "[FAIL]", runs.CheckSkip: "[skip]"}[c.Status]
		fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, strings.ReplaceAll(c.Name, "_", " "), oneLine(c.Detail))
		for _, f := range c.Fix {
			fmt.Fprintf(tw, "\t\t  fix: %s\n", f)
		}
	}
	tw.Flush()
}
