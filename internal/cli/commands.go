package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
)

// overrides are the flags that change a pipeline's settings, shared by start
// and validate.
type overrides struct {
	mode          string
	maxParallel   int
	timeout       string
	failurePolicy string
	repo          string
	ref           string
	branch        string
	budgetUSD     float64
	budgetTokens  int
}

func (o *overrides) register(fs *flag.FlagSet) {
	fs.StringVar(&o.mode, "mode", "", "execution `mode`: linear, dag_linear or dag_parallel (default: the pipeline's, else from the environment)")
	fs.IntVar(&o.maxParallel, "max-parallel", 0, "at most `n` nodes at once in dag_parallel mode (default: the pipeline's, else 50)")
	fs.StringVar(&o.timeout, "timeout", "", "whole-run timeout `duration`, e.g. 30m (default: the pipeline's, else 2h)")
	fs.StringVar(&o.failurePolicy, "failure-policy", "", "failure `policy`: fail_fast or continue (default: the pipeline's, else fail_fast)")
	fs.StringVar(&o.repo, "repo", "", "git `repository` the run works in: a path or a git URL (default: the pipeline's workspace)")
	fs.StringVar(&o.ref, "ref", "", "branch, tag or SHA the run starts from (default: the pipeline's, else the repository's HEAD)")
	fs.Float64Var(&o.budgetUSD, "budget-usd", 0, "the run's budget in US `dollars` for its agents (default: the pipeline's, else none)")
	fs.IntVar(&o.budgetTokens, "budget-tokens", 0, "the run's budget in `tokens` (input, output and cache) for its agents (default: the pipeline's, else none)")
	fs.StringVar(&o.branch, "branch", "", "`branch` the finished run is pushed to (default: the pipeline's, else maestro/<run id>)")
}

func (o *overrides) apply(req *runs.StartRequest) {
	req.Mode = dag.Mode(o.mode)
	req.MaxParallel = o.maxParallel
	req.Timeout = dag.Duration(o.timeout)
	req.FailurePolicy = dag.FailurePolicy(o.failurePolicy)
	if o.budgetUSD != 0 || o.budgetTokens != 0 {
		req.Budget = &dag.Budget{USD: o.budgetUSD, Tokens: o.budgetTokens}
	}
	if o.repo != "" || o.ref != "" || o.branch != "" {
		repo := o.repo
		if repo != "" && !strings.Contains(repo, ":") && !filepath.IsAbs(repo) {
			// A path on the command line is relative to where it was typed.
			if abs, err := filepath.Abs(repo); err == nil {
				repo = abs
			}
		}
		req.Workspace = &dag.Workspace{Repo: repo, Ref: o.ref, Branch: o.branch}
		if dag.IsLocalRepo(repo) {
			// A local repository that does not exist yet is made, with an
			// initial commit, when the run starts.
			if _, err := os.Stat(repo); errors.Is(err, os.ErrNotExist) {
				req.Workspace.Create = true
			}
		}
	}
}

// paramFlag collects repeated --param key=value flags.
type paramFlag map[string]any

func (p paramFlag) String() string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, p[k])
	}
	return strings.Join(parts, ",")
}

func (p paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	p[strings.TrimSpace(k)] = v
	return nil
}

// cmdStart starts a run of a template or a pipeline file.
func cmdStart(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("start")
	var o overrides
	o.register(fs)
	template := fs.String("template", "", "built-in template `name`: "+strings.Join(templates.Names(), ", "))
	file := fs.String("file", "", "pipeline `file`, YAML or JSON; - reads standard input")
	requirement := fs.String("requirement", "", "requirement `text`, given to every node as params.requirement")
	id := fs.String("id", "", "workflow `id`; starting again with the same id returns that run (default: generated)")
	params := paramFlag{}
	fs.Var(params, "param", "`key=value` added to the pipeline's params; repeatable")
	wait := fs.Bool("wait", false, "wait for the run to finish, show every node's result and exit 1 unless it completed")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}

	req := runs.StartRequest{Template: *template, Requirement: *requirement, ID: *id}
	if len(params) > 0 {
		req.Params = params
	}
	o.apply(&req)
	switch {
	case *template != "" && *file != "":
		return usagef("start", "start: give --template or --file, not both")
	case *template == "" && *file == "":
		return usagef("start", "start: give --template (one of %s) or --file", strings.Join(templates.Names(), ", "))
	case *file != "":
		p, err := a.parsePipeline(*file)
		if err != nil {
			return err
		}
		req.DAG = p
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	// Report every problem without needing a server, and what the policy
	// this environment configures forbids (without one, the workers check).
	in, err := runs.Build(req, dag.Mode(cfg.DefaultMode))
	if err == nil && cfg.Policy.Configured() {
		pol, perr := process.WorkerPolicy(cfg)
		if err = perr; err == nil {
			err = pol.Check(in.Pipeline)
		}
	}
	if err != nil {
		if *file != "" {
			return fmt.Errorf("%s: %w", *file, err)
		}
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	started, err := svc.Start(ctx, req)
	if err != nil {
		return err
	}
	return a.started(ctx, svc, started, "", *wait, *asJSON)
}

// startResult is the JSON output of start and retry.
type startResult struct {
	*runs.Started
	RetryOf string      `json:"retry_of,omitempty"`
	Status  *run.Status `json:"status,omitempty"`
}

// started reports a started run and, with wait, waits for it and reports its
// final state; the error says why the run did not complete.
func (a *app) started(ctx context.Context, svc *runs.Service, s *runs.Started, retryOf string, wait, asJSON bool) error {
	res := startResult{Started: s, RetryOf: retryOf}
	if !asJSON {
		if retryOf != "" {
			fmt.Fprintf(a.stdout, "retry of:    %s\n", retryOf)
		}
		fmt.Fprintf(a.stdout, "workflow id: %s\n", s.WorkflowID)
		existing := ""
		if s.Existing {
			existing = " (existing run)"
		}
		fmt.Fprintf(a.stdout, "run id:      %s%s\n", s.RunID, existing)
	}
	if !wait {
		if asJSON {
			return writeJSON(a.stdout, res)
		}
		return nil
	}
	if !asJSON {
		fmt.Fprintf(a.stderr, "waiting for %s to finish (Ctrl-C stops waiting, not the run)\n", s.WorkflowID)
	}
	st, err := a.wait(ctx, svc, s.WorkflowID)
	if err != nil {
		if asJSON {
			_ = writeJSON(a.stdout, res)
		}
		return err
	}
	res.Status = st
	if asJSON {
		if err := writeJSON(a.stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(a.stdout)
		printStatus(a.stdout, st)
	}
	return outcome(st, run.Completed)
}

// wait waits for a run to close.
func (a *app) wait(ctx context.Context, svc *runs.Service, id string) (*run.Status, error) {
	st, err := svc.Wait(ctx, id)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("stopped waiting for %s; the run goes on (see 'maestro status %s'): %w", id, id, err)
	}
	return st, err
}

// outcome returns nil when the run ended in the wanted state, and otherwise
// an error saying how it ended.
func outcome(st *run.Status, want run.State) error {
	if st.Status == want {
		return nil
	}
	msg := fmt.Sprintf("run %s %s", st.WorkflowID, st.Status)
	if st.Error != "" {
		msg += ": " + st.Error
	}
	return errors.New(msg)
}

// cmdStatus shows a run's state.
func cmdStatus(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("status")
	asJSON := fs.Bool("json", false, "print JSON")
	watch := fs.Bool("watch", false, "follow the run: print each node's start, progress and end as they happen, then its final state")
	pos, err := parse(fs, args, "workflow-id")
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	if *watch {
		return watchRun(ctx, a.stdout, svc, pos[0])
	}
	st, err := svc.Status(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.stdout, st)
	}
	printStatus(a.stdout, st)
	return nil
}

// cmdList lists runs from Temporal's visibility store.
func cmdList(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("list")
	status := fs.String("status", "", "only runs in `state`: "+strings.Join(runs.ListStatuses(), ", "))
	limit := fs.Int("limit", 20, "show at most `n` runs")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *status != "" && !slices.Contains(runs.ListStatuses(), *status) {
		return usagef("list", "list: unknown --status %q (want one of %s)", *status, strings.Join(runs.ListStatuses(), ", "))
	}
	if *limit <= 0 {
		return usagef("list", "list: --limit must be positive, got %d", *limit)
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	var all []runs.RunSummary
	var token []byte
	more := false
	for {
		page, next, err := svc.List(ctx, runs.ListFilter{Status: *status, PageSize: *limit - len(all), NextPageToken: token})
		if err != nil {
			return err
		}
		all = append(all, page...)
		if next == nil || len(all) >= *limit {
			more = next != nil || len(all) > *limit
			break
		}
		token = next
	}
	all = all[:min(len(all), *limit)]
	if *asJSON {
		if all == nil {
			all = []runs.RunSummary{}
		}
		return writeJSON(a.stdout, all)
	}
	printRuns(a.stdout, all)
	if more {
		fmt.Fprintf(a.stdout, "(showing the newest %d; raise --limit for more)\n", len(all))
	}
	return nil
}

// cmdCancel cancels a run.
func cmdCancel(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("cancel")
	wait := fs.Bool("wait", false, "wait until the run has stopped and show every node's final state")
	pos, err := parse(fs, args, "workflow-id")
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	if err := svc.Cancel(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "cancellation requested for %s\n", pos[0])
	if !*wait {
		return nil
	}
	st, err := a.wait(ctx, svc, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)
	printStatus(a.stdout, st)
	return outcome(st, run.Cancelled)
}

// cmdTerminate terminates a run at once.
func cmdTerminate(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("terminate")
	reason := fs.String("reason", "", "why the run is terminated (required; recorded in its history)")
	pos, err := parse(fs, args, "workflow-id")
	if err != nil {
		return err
	}
	if strings.TrimSpace(*reason) == "" {
		return usagef("terminate", "terminate: --reason is required: say why the run is terminated")
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	if err := svc.Terminate(ctx, pos[0], *reason); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "terminated %s\n", pos[0])
	return nil
}

// cmdPause pauses a run.
func cmdPause(ctx context.Context, a *app, args []string) error {
	return a.signal(ctx, "pause", args, (*runs.Service).Pause,
		"paused %s: running nodes finish, no new node starts until 'maestro resume %[1]s'\n")
}

// cmdResume resumes a paused run.
func cmdResume(ctx context.Context, a *app, args []string) error {
	return a.signal(ctx, "resume", args, (*runs.Service).Resume, "resumed %s\n")
}

func (a *app) signal(ctx context.Context, name string, args []string, send func(*runs.Service, context.Context, string) error, done string) error {
	fs := a.temporalFlags(name)
	pos, err := parse(fs, args, "workflow-id")
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	if err := send(svc, ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, done, pos[0])
	return nil
}

// cmdRetry starts a new run of a failed one.
func cmdRetry(ctx context.Context, a *app, args []string) error {
	fs := a.temporalFlags("retry")
	wait := fs.Bool("wait", false, "wait for the new run to finish, show every node's result and exit 1 unless it completed")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, "workflow-id")
	if err != nil {
		return err
	}
	svc, err := a.service(ctx)
	if err != nil {
		return err
	}
	started, err := svc.Retry(ctx, pos[0])
	if err != nil {
		return err
	}
	return a.started(ctx, svc, started, pos[0], *wait, *asJSON)
}

// validation is the JSON output of validate.
type validation struct {
	File          string            `json:"file"`
	Valid         bool              `json:"valid"`
	Error         string            `json:"error,omitempty"`
	Problems      []dag.Problem     `json:"problems,omitempty"`
	Pipeline      string            `json:"pipeline,omitempty"`
	Nodes         int               `json:"nodes,omitempty"`
	Mode          dag.Mode          `json:"mode,omitempty"`
	ModeSource    string            `json:"mode_source,omitempty"`
	Parallelism   int               `json:"parallelism,omitempty"`
	Timeout       string            `json:"timeout,omitempty"`
	FailurePolicy dag.FailurePolicy `json:"failure_policy,omitempty"`
	Levels        [][]string        `json:"levels,omitempty"`
	Order         []string          `json:"order,omitempty"`
}

// cmdValidate parses and validates a pipeline file as start would, without
// starting anything or connecting to Temporal.
func cmdValidate(_ context.Context, a *app, args []string) error {
	fs := a.newFlags("validate")
	var o overrides
	o.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args, "file")
	if err != nil {
		return err
	}
	file := pos[0]
	res := validation{File: file}
	report := func(err error) error {
		if *asJSON {
			if werr := writeJSON(a.stdout, res); werr != nil {
				return werr
			}
		}
		return err
	}

	p, err := a.parsePipeline(file)
	if err != nil {
		res.Error = err.Error()
		return report(err)
	}
	// The default mode comes from the same variables config.Load reads; read
	// only those so that validation needs no Temporal configuration.
	defaultMode, err := config.DefaultMode(a.env)
	if err != nil {
		res.Error = err.Error()
		return report(err)
	}
	req := runs.StartRequest{DAG: p}
	o.apply(&req)
	in, err := runs.Build(req, dag.Mode(defaultMode))
	var ve *dag.ValidationError
	switch {
	case errors.As(err, &ve):
		for i, pr := range ve.Problems {
			if o.mode != "" && pr.Node == "" && pr.Field == "mode" {
				ve.Problems[i].Message += " (from --mode)"
			}
		}
		res.Problems = ve.Problems
		if !*asJSON {
			for _, pr := range ve.Problems {
				fmt.Fprintln(a.stdout, pr)
			}
		}
		return report(fmt.Errorf("%s: %s", file, strings.TrimSuffix(ve.Error(), ": "+problemList(ve))))
	case err != nil:
		res.Error = err.Error()
		return report(fmt.Errorf("%s: %w", file, err))
	}

	built := in.Pipeline
	res.Valid = true
	res.Pipeline = built.Name
	res.Nodes = len(built.Nodes)
	res.Mode = built.Mode
	switch {
	case o.mode != "":
		res.ModeSource = "--mode"
	case p.Mode != "":
		res.ModeSource = "file"
	default:
		res.ModeSource = "environment"
	}
	res.Parallelism = built.Parallelism()
	res.Timeout = built.RunTimeout().String()
	res.FailurePolicy = built.Policy()
	res.Levels = built.Levels()
	if built.Mode != dag.ModeDAGParallel {
		res.Order = built.Order(built.Mode)
	}
	if *asJSON {
		return writeJSON(a.stdout, res)
	}
	printValidation(a.stdout, res)
	return nil
}

// cmdTemplates lists the built-in templates.
func cmdTemplates(_ context.Context, a *app, args []string) error {
	fs := a.newFlags("templates")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	list := templates.List()
	if *asJSON {
		return writeJSON(a.stdout, list)
	}
	printTemplates(a.stdout, list)
	return nil
}

// cmdConfig shows the effective configuration.
func cmdConfig(_ context.Context, a *app, args []string) error {
	fs := a.temporalFlags("config")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	eff := cfg.Effective(a.env)
	toks, err := process.APITokens(cfg.API)
	if err != nil {
		return err
	}
	if len(toks) > 0 {
		eff.APITokenRoles = process.TokenRoles(toks)
	}
	pol, err := process.WorkerPolicy(cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(a.stdout, struct {
			config.Effective
			Policy *policy.Policy `json:"policy"`
		}{eff, pol})
	}
	printConfig(a.stdout, eff)
	printPolicy(a.stdout, pol)
	return nil
}

// parsePipeline reads a pipeline file (see dag.ParseFile), or standard
// input for "-", as far as dag.MaxDefinitionBytes.
func (a *app) parsePipeline(path string) (*dag.Pipeline, error) {
	if path != "-" {
		p, err := dag.ParseFile(path)
		if errors.Is(err, dag.ErrNotRegularFile) {
			return nil, fmt.Errorf("%w (to read a pipeline from a pipe, use - for standard input)", err)
		}
		return p, err
	}
	if a.stdin == nil {
		return nil, errors.New("read pipeline: no standard input")
	}
	return dag.ParseReader(a.stdin, "standard input")
}
