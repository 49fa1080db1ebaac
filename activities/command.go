package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/internal/procrecord"
	"github.com/maestrohq/maestro/run"
)

// killGrace is how long a cancelled command's process group has between
// SIGTERM and SIGKILL; tests shorten it.
var killGrace = 2 * time.Second

// baseEnv are the only worker variables every command sees.
var baseEnv = []string{"PATH", "HOME", "LANG", "TMPDIR"}

// commandExecutor runs command nodes.
type commandExecutor struct{}

// Run runs a command node's attempt.
func (commandExecutor) Run(ctx context.Context, a *Activities, in run.NodeInput) (run.NodeResult, error) {
	return a.runCommand(ctx, in)
}

// runCommand runs the executor's argv (no shell) in its own process group,
// with a minimal environment, capturing bounded stdout (the output) and a
// stderr tail. A cancelled or timed-out attempt kills the whole group.
func (a *Activities) runCommand(ctx context.Context, in run.NodeInput) (run.NodeResult, error) {
	e, err := specOf[*dag.CommandSpec](in)
	if err != nil {
		return run.NodeResult{}, err
	}
	in, err = a.withFullInputs(ctx, in)
	if err != nil {
		return run.NodeResult{}, err
	}
	return a.runArgv(ctx, in, e.Process, e.Argv, nil)
}

// runArgv runs argv as runCommand describes, with p's env, pass_env and
// dir, and stdin as the process's standard input (nil: none). The agent
// executor's command provider uses it too.
func (a *Activities) runArgv(ctx context.Context, in run.NodeInput, p dag.Process, argv []string, stdin io.Reader) (run.NodeResult, error) {
	x, err := a.execArgv(ctx, in, p, argv, stdin, a.captureBytes(), a.cfg.MaxErrorBytes)
	if err != nil {
		return run.NodeResult{}, err
	}
	stdout, stderr := x.stdout, x.stderr
	if x.code != 0 {
		code := x.code
		prefix := fmt.Sprintf("exit code %d%s", code, x.how)
		ne := &nodeError{
			typ: ErrTypeCommandExit,
			msg: withDetail(prefix, stderr.Bytes(), stderr.total, a.cfg.MaxErrorBytes, true),
			failure: run.Failure{
				ExitCode:   &code,
				StderrTail: capTail(stderr.Bytes(), stderr.total, a.cfg.MaxErrorBytes),
			},
		}
		if t := x.stdoutTail; t != nil {
			ne.failure.StdoutTail = capTail(t.Bytes(), t.total, a.cfg.MaxErrorBytes)
		}
		return run.NodeResult{}, ne
	}
	res := a.output(stdout.buf, stdout.total)
	res.ExitCode = &x.code
	return res, nil
}

// execResult is what a program that ran left: the head of its stdout, the
// tail of its stderr, its exit code (128+N for death by signal N, with how
// saying so).
type execResult struct {
	stdout *headBuffer
	stderr *tailBuffer
	// stdoutTail is the tail of stdout, kept for commands with a repair.
	stdoutTail *tailBuffer
	code       int
	how        string
}

// execArgv runs argv in its own process group, with the node's minimal
// environment and p's env, pass_env and dir, keeping the first stdoutMax
// bytes of stdout and the last stderrMax of stderr; a cancelled or timed-out
// ctx kills the group. A program that ran and exited, whatever its code, is
// not an error.
func (a *Activities) execArgv(ctx context.Context, in run.NodeInput, p dag.Process, argv []string, stdin io.Reader, stdoutMax, stderrMax int) (execResult, error) {
	if len(argv) == 0 || argv[0] == "" {
		return execResult{}, configError("executor.argv must name a program")
	}
	env, err := a.commandEnv(in, p)
	if err != nil {
		return execResult{}, err
	}
	var token string
	if a.cfg.ProcessDir != "" {
		// The attempt's processes carry it, so that a restarted worker
		// can tell them from others (see package procrecord).
		if token, err = procrecord.NewToken(); err != nil {
			return execResult{}, err
		}
		env[procrecord.TokenEnv] = token
	}
	prog := argv[0]
	path, err := lookPath(prog, env["PATH"])
	if err != nil {
		return execResult{}, startError(prog, err)
	}

	dir := a.commandDir(in, p.Dir)
	if dir != "" {
		// exec blames the program for a bad directory; name the directory.
		if fi, err := os.Stat(dir); err != nil {
			return execResult{}, startError(prog, fmt.Errorf("working directory: %w", err))
		} else if !fi.IsDir() {
			return execResult{}, startError(prog, fmt.Errorf("working directory %s is not a directory", dir))
		}
	}

	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Args[0] = prog
	cmd.Env = envList(env)
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.SysProcAttr = processAttr()
	stdout := &headBuffer{max: stdoutMax}
	stderr := &tailBuffer{max: stderrMax}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A command with a repair also keeps its stdout's tail, for the repair
	// agent (test runners report failures there).
	var stdoutTail *tailBuffer
	if c, ok := dag.SpecOf[*dag.CommandSpec](in.Node.Executor); ok && c.Repair != nil && in.Workspace != nil {
		stdoutTail = &tailBuffer{max: a.cfg.MaxErrorBytes}
		cmd.Stdout = io.MultiWriter(stdout, stdoutTail)
	}
	// The group's record goes once the group is gone or SIGKILLed.
	rec := &groupRecord{}
	// On ctx done: SIGTERM the group now, SIGKILL it after the grace.
	var cancelled atomic.Bool
	cmd.Cancel = func() error {
		cancelled.Store(true)
		return terminateGroup(cmd.Process.Pid, func() {
			killTagged(token)
			rec.release()
		})
	}
	// Bounds Wait when the group outlives the grace, or when the program
	// exits but something it started keeps stdout or stderr open.
	cmd.WaitDelay = killGrace + killGrace/2

	if err := cmd.Start(); err != nil {
		if ctx.Err() != nil {
			return execResult{}, ctx.Err()
		}
		return execResult{}, startError(prog, err)
	}
	if token != "" {
		rec.set(a.recordGroup(ctx, in, cmd.Process.Pid, token))
	}
	stop := heartbeat(ctx)
	err = cmd.Wait()
	stop()
	if !cancelled.Load() {
		// The program is done; so is anything it left running in its
		// group, at once: in a workspace run the checkout is committed
		// next, and nothing may write into it after.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		killTagged(token)
		rec.release()
	}
	if ctx.Err() != nil {
		return execResult{}, ctx.Err()
	}

	x := execResult{stdout: stdout, stderr: stderr, stdoutTail: stdoutTail}
	var exitErr *exec.ExitError
	switch {
	case err == nil, errors.Is(err, exec.ErrWaitDelay):
	case errors.As(err, &exitErr):
		x.code, x.how = exitStatus(exitErr)
	default:
		return execResult{}, &nodeError{
			typ: ErrTypeCommandExit,
			msg: fmt.Sprintf("%s: %v", prog, err),
		}
	}
	return x, nil
}

// killTagged kills what the attempt's command left running outside its
// process group (setsid, a daemon): the processes carrying its token. An
// empty token (a worker without a ProcessDir) kills nothing.
func killTagged(token string) {
	if token != "" {
		procrecord.KillTagged(token)
	}
}

// terminateGroup sends SIGTERM to a process group now and SIGKILL after
// killGrace, unless the group is gone already; then it calls done.
func terminateGroup(pgid int, done func()) error {
	err := syscall.Kill(-pgid, syscall.SIGTERM)
	if errors.Is(err, syscall.ESRCH) {
		done()
		return nil
	}
	time.AfterFunc(killGrace, func() {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		done()
	})
	return err
}

// recordGroup records the running group pgid of in's attempt in the
// worker's ProcessDir and returns what removes the record. A record that
// cannot be written is logged, and the command runs on unrecorded.
func (a *Activities) recordGroup(ctx context.Context, in run.NodeInput, pgid int, token string) func() error {
	remove, err := procrecord.Write(a.cfg.ProcessDir, procrecord.Record{
		PGID:       pgid,
		WorkflowID: in.WorkflowID,
		NodeID:     in.Node.ID,
		Attempt:    activity.GetInfo(ctx).Attempt,
		Token:      token,
	})
	if err != nil {
		a.cfg.Logger.WarnContext(ctx, "a restarted worker could not stop this command's processes",
			"workflow_id", in.WorkflowID, "node", in.Node.ID, "error", err)
		return nil
	}
	return func() error {
		err := remove()
		if err != nil {
			a.cfg.Logger.Warn("process record", "workflow_id", in.WorkflowID, "node", in.Node.ID, "error", err)
		}
		return err
	}
}

// groupRecord removes a group's record once, whether the group finishes
// before or after the record is written.
type groupRecord struct {
	mu       sync.Mutex
	remove   func() error
	released bool
}

// set holds remove (nil: nothing recorded), or calls it at once when the
// group is finished already.
func (g *groupRecord) set(remove func() error) {
	if remove == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.released {
		_ = remove()
		return
	}
	g.remove = remove
}

// release removes the record, if any, once.
func (g *groupRecord) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.released {
		return
	}
	g.released = true
	if g.remove != nil {
		_ = g.remove()
	}
}

func startError(prog string, err error) *nodeError {
	return &nodeError{
		typ:          ErrTypeCommandStart,
		nonRetryable: true,
		msg:          fmt.Sprintf("cannot start %q: %v", prog, err),
	}
}

// exitStatus returns the exit code, 128+N for death by signal N as shells
// report it, and a note for the message in that case.
func exitStatus(err *exec.ExitError) (int, string) {
	if ws, ok := err.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), fmt.Sprintf(" (killed by signal: %v)", ws.Signal())
	}
	return err.ExitCode(), ""
}

// commandEnv builds the process environment: PATH, HOME, LANG and TMPDIR and
// the pass_env names from the worker (when set), Maestro's variables, and
// p's env, which wins.
func (a *Activities) commandEnv(in run.NodeInput, e dag.Process) (map[string]string, error) {
	env := make(map[string]string, len(baseEnv)+len(e.PassEnv)+len(in.Inputs)+4+len(e.Env))
	for _, name := range slices.Concat(baseEnv, e.PassEnv) {
		if v := a.cfg.Getenv(name); v != "" {
			env[name] = v
		}
	}
	params := in.Params
	if params == nil {
		params = map[string]any{}
	}
	pj, err := json.Marshal(params)
	if err != nil {
		return nil, configError("params cannot be encoded as JSON for MAESTRO_PARAMS: %v", err)
	}
	env["MAESTRO_WORKFLOW_ID"] = in.WorkflowID
	env["MAESTRO_NODE_ID"] = in.Node.ID
	env["MAESTRO_PIPELINE"] = in.Pipeline
	env["MAESTRO_PARAMS"] = string(pj)
	if ws := in.Workspace; ws != nil && ws.Dir != "" {
		env["MAESTRO_WORKSPACE"] = ws.Dir
		env["MAESTRO_BASE_SHA"] = ws.Base
	}
	for _, dep := range slices.Sorted(maps.Keys(in.Inputs)) {
		// A NUL byte cannot be passed in the environment.
		env[inputEnvName(dep)] = strings.ReplaceAll(in.Inputs[dep], "\x00", "")
	}
	maps.Copy(env, e.Env)
	return env, nil
}

// inputEnvName is MAESTRO_INPUT_ and the dependency's ID, upper-cased, with
// every character other than A-Z and 0-9 replaced by _.
func inputEnvName(dep string) string {
	b := []byte(strings.ToUpper(dep))
	for i, c := range b {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	return "MAESTRO_INPUT_" + string(b)
}

func envList(env map[string]string) []string {
	list := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		list = append(list, k+"="+env[k])
	}
	return list
}

// commandDir is, in a workspace run, the checkout (or dir inside it);
// otherwise the executor's dir (relative to the worker's WorkDir when
// relative), else WorkDir, else "" (the worker's directory).
func (a *Activities) commandDir(in run.NodeInput, dir string) string {
	if ws := in.Workspace; ws != nil && ws.Dir != "" {
		// Validation keeps dir relative and inside the checkout.
		return filepath.Join(ws.Dir, dir)
	}
	switch {
	case dir == "":
		return a.cfg.WorkDir
	case filepath.IsAbs(dir) || a.cfg.WorkDir == "":
		return dir
	default:
		return filepath.Join(a.cfg.WorkDir, dir)
	}
}

// lookPath finds prog in the PATH the command will see (not the worker's),
// ignoring relative PATH entries. A prog with a slash is used as is.
func lookPath(prog, pathEnv string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, nil
	}
	if pathEnv == "" {
		return exec.LookPath(prog)
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, prog)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", exec.ErrNotFound
}
