package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/runs"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command failed, or the run it waited for did not complete
	exitUsage = 2 // the command line is wrong
)

// app is what every command runs with.
type app struct {
	// stdin is read for a pipeline file named "-"; nil when there is none.
	stdin          io.Reader
	stdout, stderr io.Writer
	env            config.Env
	// conn holds the connection flags of commands that talk to Temporal.
	conn connFlags
	// closers run when the command ends.
	closers []func()
	// ready, when set, receives the API's address once it serves (tests).
	ready chan<- string
}

// command is one `maestro <name>` subcommand.
type command struct {
	name    string
	args    string // synopsis of the arguments and main flags
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

// commands lists the subcommands in the order usage shows them.
func commands() []command {
	return []command{
		{"dev", "[--data-dir dir] [--temporal-listen host:port] [--api-listen host:port] [--ui-listen host:port] [--namespace ns] [--insecure]", "run Temporal (SQLite), its Web UI, a worker and the REST API in one process", cmdDev},
		{"worker", "[--workdir dir] [--max-output-bytes n] [--metrics-listen host:port]", "run a worker: poll the task queue and execute runs", cmdWorker},
		{"api", "[--listen host:port] [--insecure]", "serve the REST API", cmdAPI},
		{"start", "(--template name [--requirement text] | --file dag.yaml) [--repo path|url [--ref r] [--branch b]] [--param k=v] [--budget-usd x] [--budget-tokens n] [--wait] [--json]", "start a run of a built-in template or of a pipeline file", cmdStart},
		{"status", "<workflow-id> [--json] [--watch]", "show a run's state and its nodes (the first 1,000 of a bigger run)", cmdStatus},
		{"nodes", "<workflow-id> [--status state] [--json] [--page-token t]", "list a run's nodes page by page, optionally of one state", cmdNodes},
		{"list", "[--status state] [--limit n] [--json]", "list runs, newest first", cmdList},
		{"cancel", "<workflow-id> [--wait]", "cancel a run: running nodes are stopped, the rest skipped", cmdCancel},
		{"terminate", "<workflow-id> --reason text", "end a run at once, for one that does not react to cancel (nodes' final states are not recorded)", cmdTerminate},
		{"pause", "<workflow-id>", "stop a run from starting new nodes; running nodes finish", cmdPause},
		{"resume", "<workflow-id>", "let a paused run start nodes again", cmdResume},
		{"retry", "<workflow-id> [--wait] [--json]", "start a new run of a failed run, reusing its completed nodes", cmdRetry},
		{"rewind", "<workflow-id> --to node [--keep-signals] [--reason text] [--wait] [--json]", "reset a run to just before a node started: it and what started after it run again", cmdRewind},
		{"approve", "<workflow-id> <node> [--reject] [--comment text] [--by name] [--json]", "approve (or reject) an approval node", cmdApprove},
		{"budget", "<workflow-id> (--add-usd x [--add-tokens n] | --add-tokens n | --reject) [--comment text] [--by name] [--json]", "extend a run's budget (nodes waiting for it start again) or reject (they fail)", cmdBudget},
		{"artifacts", "<workflow-id> [node] [--out dir] [--json]", "list a run's node outputs, print one, or save them all", cmdArtifacts},
		{"diff", "<workflow-id> [node] [--json]", "print the diff of a workspace run (start..head) or of one node", cmdDiff},
		{"validate", "<file> [--mode mode] [--json]", "check a pipeline file (- for standard input) and show its execution levels; needs no server", cmdValidate},
		{"templates", "[--json]", "list the built-in templates", cmdTemplates},
		{"config", "[--json]", "show the effective configuration (never secrets)", cmdConfig},
		{"doctor", "[--json] [--timeout d]", "check Temporal, the namespace, a worker on the task queue, the search attributes, and this host: worker policy, workspace directory and git, artifact directory, clock", cmdDoctor},
		{"version", "[--json]", "print the build's version and the workflow code's (its GetVersion patches)", cmdVersion},
		{"bench", "[--quick]", "measure Maestro beside a plain Temporal workflow on an embedded server; print Markdown (docs/BENCHMARKS.md)", cmdBench},
		{"help", "[command]", "show this help, or a command's flags", nil},
	}
}

// Main runs the command line args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) int {
	return (&app{stdout: stdout, stderr: stderr, env: env}).main(ctx, args)
}

// main runs the command line args and returns the exit code.
func (a *app) main(ctx context.Context, args []string) int {
	stdout, stderr := a.stdout, a.stderr
	if len(args) == 0 {
		a.usage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-version", "--version":
		name = "version"
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			a.usage(stdout)
			return exitOK
		}
		// A command's help goes to stdout when asked for.
		name, rest = rest[0], []string{"--help"}
		a.stderr = stdout
	}
	for _, c := range commands() {
		switch {
		case c.name != name:
		case c.run == nil: // help help
			a.usage(stdout)
			return exitOK
		default:
			err := c.run(ctx, a, rest)
			for _, close := range a.closers {
				close()
			}
			return a.exit(err)
		}
	}
	fmt.Fprintf(stderr, "maestro: unknown command %q\n\n", name)
	a.usage(stderr)
	return exitUsage
}

// exit prints err and returns the exit code for it.
func (a *app) exit(err error) int {
	var ue usageError
	var ve *dag.ValidationError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "maestro: %s\n", ue.msg)
		if ue.cmd != "" {
			fmt.Fprintf(a.stderr, "run 'maestro help %s' for usage\n", ue.cmd)
		}
		return exitUsage
	case errors.As(err, &ve):
		fmt.Fprintf(a.stderr, "maestro: %s:\n", strings.TrimSuffix(err.Error(), ": "+problemList(ve)))
		for _, p := range ve.Problems {
			fmt.Fprintf(a.stderr, "  %s\n", p)
		}
		return exitError
	default:
		fmt.Fprintf(a.stderr, "maestro: %v\n", err)
		return exitError
	}
}

// problemList is how ValidationError.Error joins the problems, so that exit
// can print the message's prefix and then one problem per line.
func problemList(ve *dag.ValidationError) string {
	parts := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

func (a *app) usage(w io.Writer) {
	fmt.Fprint(w, `usage: maestro <command> [arguments] [flags]

Maestro runs software-delivery pipelines as Temporal workflows: 'maestro dev'
runs everything on one machine; 'maestro worker' and 'maestro api' are the
production processes; the other commands start, inspect and control runs.

commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Commands that talk to Temporal take --address, --namespace and --task-queue,
which override the environment:
  TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
  TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE  the Temporal connection
  MAESTRO_TASK_QUEUE                      the task queue (default maestro)
  MAESTRO_ENABLE_DAG_EXECUTION,
  MAESTRO_ENABLE_PARALLEL_EXECUTION       the default mode: linear, dag_linear
                                          or dag_parallel
  MAESTRO_LOG_LEVEL, MAESTRO_LOG_FORMAT   logging (default warn for run commands,
                                          info for dev, worker and api; text)
Every variable: 'maestro config' shows what is in effect; README, Configuration.

Run 'maestro help <command>' for a command's flags.
`)
}

// usageError is a mistake on the command line; it exits with exitUsage.
type usageError struct {
	cmd string
	msg string
}

func (e usageError) Error() string { return e.msg }

func usagef(cmd, format string, args ...any) error {
	return usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// newFlags returns a flag set for the named command whose usage names the
// command's arguments.
func (a *app) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() {
		for _, c := range commands() {
			if c.name == name {
				fmt.Fprintf(fs.Output(), "usage: maestro %s %s\n\n%s.\n", name, c.args, upperFirst(c.summary))
			}
		}
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(fs.Output(), "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parse parses args allowing flags after positional arguments (`status ID
// --json`), and checks the number of positional arguments against names.
func parse(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	var pos []string
	for {
		// The flag package prints a command's whole usage on any error:
		// keep it for --help, and say only what is wrong otherwise.
		out := fs.Output()
		var printed bytes.Buffer
		fs.SetOutput(&printed)
		err := fs.Parse(args)
		fs.SetOutput(out)
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				_, _ = out.Write(printed.Bytes())
				return nil, err
			}
			return nil, usagef(fs.Name(), "%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	switch {
	case len(pos) < len(names):
		return nil, usagef(fs.Name(), "%s: missing %s", fs.Name(), strings.Join(names[len(pos):], " and "))
	case len(pos) > len(names):
		return nil, usagef(fs.Name(), "%s: unexpected argument %q", fs.Name(), pos[len(names)])
	}
	return pos, nil
}

// connFlags are the Temporal connection flags; empty means the environment's
// value.
type connFlags struct {
	address, namespace, taskQueue string
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.address, "address", "", "Temporal frontend `host:port` (default $TEMPORAL_ADDRESS or localhost:7233)")
	fs.StringVar(&c.namespace, "namespace", "", "Temporal `namespace` (default $TEMPORAL_NAMESPACE or default)")
	fs.StringVar(&c.taskQueue, "task-queue", "", "task `queue` (default $"+config.EnvTaskQueue+" or maestro)")
}

// temporalFlags returns the named command's flag set with the Temporal
// connection flags registered; a.config and a.service then apply them.
func (a *app) temporalFlags(name string) *flag.FlagSet {
	fs := a.newFlags(name)
	a.conn.register(fs)
	return fs
}

// config loads the configuration from the environment and applies the
// connection flags.
func (a *app) config() (config.Config, error) {
	cfg, err := a.connConfig()
	if err != nil {
		return config.Config{}, err
	}
	if _, err := process.WorkerPolicy(cfg); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// connConfig is config without checking that the worker policy loads (the
// doctor reports that as a check).
func (a *app) connConfig() (config.Config, error) {
	cfg, err := config.Load(a.env)
	if err != nil {
		return config.Config{}, err
	}
	if a.conn.address != "" {
		cfg.Client.HostPort = a.conn.address
	}
	if a.conn.namespace != "" {
		cfg.Client.Namespace = a.conn.namespace
	}
	if a.conn.taskQueue != "" {
		cfg.TaskQueue = a.conn.taskQueue
	}
	return cfg, nil
}

// logger is the CLI's logger: warnings and errors unless configured.
func (a *app) logger(cfg config.Config) *slog.Logger {
	return process.NewLogger(a.stderr, cfg.Log, slog.LevelWarn)
}

// service connects to Temporal as the configuration and the connection flags
// say and returns the runs service; the connection closes when the command
// ends.
func (a *app) service(ctx context.Context) (*runs.Service, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	c, err := process.Dial(ctx, cfg, a.logger(cfg), nil)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, c.Close)
	return process.Runs(c, cfg), nil
}

// Run runs the command line args (without the program name) as the process
// and exits with its exit code; SIGINT and SIGTERM cancel the command's
// context, so servers stop gracefully (a worker lets its running nodes
// finish for MAESTRO_WORKER_STOP_TIMEOUT); a second one ends the process at
// once.
func Run(args []string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	code := (&app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, env: config.OSEnv}).main(ctx, args)
	stop()
	os.Exit(code)
}
