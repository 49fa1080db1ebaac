package workflows

// Test-gated repair: a command node of a workspace run with a repair
// (dag.Repair) that exits non-zero (activities.ErrTypeCommandExit) is not
// failed at once. The workflow runs the repair agent as its own activity in
// a checkout of the command's base, the agent's changes are committed (its
// own commit, pushed to the ref of its node, <node>.repair-<k>), and the
// command runs again on that commit, up to max_rounds times:
//
//	command ─fails─▶ repair 1 ─commits─▶ command ─fails─▶ repair 2 ─▶ command ─succeeds─▶ completed
//
// Every step is an activity, so a crash resumes at the right round from
// history. The node stays running throughout; it completes with the
// command's result (whose commit descends from the fix commits), or fails
// with the command's last failure once the rounds are used up, or with the
// agent's failure. Its Attempts count the command's attempts over all its
// runs; its Repairs show the rounds. The decisions are the repairer's, plain
// Go; execution runs its activities. Nodes without a repair take the
// unchanged path of startActivity.

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

// Activity IDs of a repaired node's later activities: '#' never occurs in a
// node ID, so they cannot be taken for another node's.
const (
	repairActivityMark = "#repair-"
	rerunActivityMark  = "#run-"
)

// RepairActivityID is the activity ID of node's repair round (from 1).
func RepairActivityID(node string, round int) string {
	return fmt.Sprintf("%s%s%d", node, repairActivityMark, round)
}

// RerunActivityID is the activity ID of node's command run after repair
// round round (the command's first run's ID is the node's).
func RerunActivityID(node string, round int) string {
	return fmt.Sprintf("%s%s%d", node, rerunActivityMark, round+1)
}

// NodeOfActivity returns the node an activity ID of a run belongs to, and
// whether the activity runs the node's own executor (false for a repair
// agent's).
func NodeOfActivity(id string) (node string, own bool) {
	if i := strings.LastIndex(id, repairActivityMark); i > 0 {
		return id[:i], false
	}
	if i := strings.LastIndex(id, rerunActivityMark); i > 0 {
		return id[:i], true
	}
	return id, true
}

// repairer decides the rounds of one repaired command node. It knows
// nothing of Temporal.
type repairer struct {
	node   dag.Node
	spec   *dag.Repair
	argv   []string
	rounds []run.RepairRound
	// bases are what the command's next run (or the next round's agent)
	// starts from: the node's bases, then the last fix commit.
	bases []string
	// attempts counts the command's attempts in its runs that ended.
	attempts int32
	// last is the command's last failure.
	last commandFailure
}

// commandFailure is one failed run of the command.
type commandFailure struct {
	msg, errType string
	details      run.Failure
}

// newRepairer prepares the rounds of node d, whose command spec has a
// repair, starting from bases.
func newRepairer(d dag.Node, c *dag.CommandSpec, bases []string) *repairer {
	return &repairer{node: d, spec: c.Repair, argv: c.Argv, bases: bases}
}

// commandActivityID is the activity ID of the command's current run.
func (p *repairer) commandActivityID() string {
	if len(p.rounds) == 0 {
		return p.node.ID
	}
	return RerunActivityID(p.node.ID, len(p.rounds))
}

// commandFailed records a failed run of the command after attempts
// attempts. It returns the repair round to start, or 0 when the node fails
// (with the last failure): the failure is not a non-zero exit, the rounds
// are used up, or mayRepair is false (the run is stopping).
func (p *repairer) commandFailed(msg, errType string, f run.Failure, attempts int32, mayRepair bool) int {
	p.attempts += max(attempts, 1)
	p.last = commandFailure{msg: msg, errType: errType, details: f}
	if n := len(p.rounds); n > 0 {
		p.rounds[n-1].State = run.RepairUnfixed
	}
	if !mayRepair || errType != activities.ErrTypeCommandExit || len(p.rounds) >= p.spec.Rounds() {
		return 0
	}
	tail := failureOutput(f)
	if tail == "" {
		tail = msg
	}
	p.rounds = append(p.rounds, run.RepairRound{
		Round: len(p.rounds) + 1, State: run.RepairRunning,
		ExitCode: f.ExitCode, OutputTail: run.Tail(tail, run.RepairTailBytes),
	})
	return len(p.rounds)
}

// round returns the current round, or nil before the first.
func (p *repairer) round() *run.RepairRound {
	if len(p.rounds) == 0 {
		return nil
	}
	return &p.rounds[len(p.rounds)-1]
}

// repaired records the current round's agent's result: its commit is what
// the command runs on next.
func (p *repairer) repaired(res run.NodeResult) {
	r := p.round()
	r.State = run.RepairTesting
	r.Commit = res.Commit
	r.Usage = res.Usage
	if out := strings.TrimSpace(res.Output); out != "" {
		r.AgentOutput = out
		if len(out) > run.RepairSummaryBytes {
			r.AgentOutput = truncate(out, run.RepairSummaryBytes-len("…"))
		}
	}
	if res.Commit != nil && res.Commit.SHA != "" {
		p.bases = []string{res.Commit.SHA}
	}
}

// agentFailed records that the current round's agent failed; the node
// fails with the message and error type it returns.
func (p *repairer) agentFailed(msg, errType string) (string, string) {
	r := p.round()
	r.State = run.RepairFailed
	r.Error = truncate(msg, run.RepairTailBytes)
	return fmt.Sprintf("repair round %d of the command's failure (%s) failed: %s", r.Round, p.last.msg, msg), errType
}

// commandSucceeded records the command's success after attempt attempts
// of its last run, and returns the command's attempts over all its runs.
func (p *repairer) commandSucceeded(attempt int32) int32 {
	if r := p.round(); r != nil {
		r.State = run.RepairFixed
	}
	p.attempts += max(attempt, 1)
	return p.attempts
}

// cancelled records that the run ended during a round.
func (p *repairer) cancelled() {
	if r := p.round(); r != nil && (r.State == run.RepairRunning || r.State == run.RepairTesting) {
		r.State = run.RepairCancelled
	}
}

// context is what the current round's agent is told.
func (p *repairer) context() run.RepairContext {
	return run.RepairContext{
		Node: p.node.ID, Round: len(p.rounds), MaxRounds: p.spec.Rounds(),
		Command: shellQuote(p.argv), ExitCode: p.last.details.ExitCode,
		OutputTail: failureOutput(p.last.details), Error: p.last.msg,
	}
}

// failureOutput is what a failed command wrote: its stdout's tail (kept for
// commands with a repair) and its stderr's, each labelled when there are
// both.
func failureOutput(f run.Failure) string {
	out, errs := strings.TrimRight(f.StdoutTail, "\n"), strings.TrimRight(f.StderrTail, "\n")
	switch {
	case strings.TrimSpace(out) == "":
		return strings.TrimSpace(errs)
	case strings.TrimSpace(errs) == "":
		return out
	}
	return "stdout:\n" + out + "\n\nstderr:\n" + errs
}

// agentNode is the node the current round's agent runs as: the repair's
// agent spec with the default repair prompts where it gives none, with the
// command node's timeouts and retries.
func (p *repairer) agentNode() dag.Node {
	a := *p.spec.Agent
	if a.SystemPrompt == "" {
		a.SystemPrompt = dag.DefaultRepairSystemPrompt
	}
	if a.Prompt == "" {
		a.Prompt = dag.DefaultRepairPrompt
	}
	k := len(p.rounds)
	return dag.Node{
		ID:       dag.RepairNodeID(p.node.ID, k),
		Name:     fmt.Sprintf("%s (repair %d)", p.node.DisplayName(), k),
		Phase:    p.node.Phase,
		Executor: dag.NewExecutor(&a),
		Retry:    p.node.Retry, Timeout: p.node.Timeout, HeartbeatTimeout: p.node.HeartbeatTimeout,
	}
}

// commandAttempts is what the node's Attempts show: the command's attempts
// so far, counting a run that goes on as one.
func (p *repairer) commandAttempts() int32 {
	if r := p.round(); r != nil && r.State == run.RepairTesting {
		return p.attempts + 1
	}
	return max(p.attempts, 1)
}

// shellQuote writes argv as a shell would need it, for people and agents
// to read (the command runs without a shell).
func shellQuote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%") == "" {
			out[i] = a
			continue
		}
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(out, " ")
}

// setRepairs shows node i's repair rounds and its command's attempts.
func (s *scheduler) setRepairs(i int, p *repairer) {
	st := &s.nodes[i]
	st.Repairs = slices.Clone(p.rounds)
	st.Attempts = p.commandAttempts()
	s.touch(i)
}

// repairSpec returns node i's command spec when the node has a repair and
// the run is a workspace run, else nil.
func (r *execution) repairSpec(i int) *dag.CommandSpec {
	if r.ws == nil {
		return nil
	}
	if c, ok := r.p.Nodes[i].Executor.Spec.(*dag.CommandSpec); ok && c.Repair != nil && c.Repair.Agent != nil {
		return c
	}
	return nil
}

// startRepairable runs the command of node i, which has a repair.
func (r *execution) startRepairable(ctx, nodesCtx workflow.Context, sel workflow.Selector, i int, c *dag.CommandSpec) {
	p := newRepairer(r.p.Nodes[i], c, r.s.bases(i, r.ws.StartSHA))
	r.runCommand(ctx, nodesCtx, sel, i, p)
}

// runCommand runs the command of repaired node i once, on p's bases: its
// non-zero exits are not retried, they are repaired.
func (r *execution) runCommand(ctx, nodesCtx workflow.Context, sel workflow.Selector, i int, p *repairer) {
	d := r.p.Nodes[i]
	opts := activityOptions(r.p, d)
	opts.ActivityID = p.commandActivityID()
	opts.RetryPolicy.NonRetryableErrorTypes = append(slices.Clone(opts.RetryPolicy.NonRetryableErrorTypes), activities.ErrTypeCommandExit)
	in := r.nodeInput(d, r.repairWorkspace(p), i)
	f := workflow.ExecuteActivity(workflow.WithActivityOptions(nodesCtx, opts), activities.ExecuteNodeName, in)
	sel.AddFuture(f, func(f workflow.Future) {
		var res run.NodeResult
		err := f.Get(ctx, &res)
		now := workflow.Now(ctx)
		switch {
		case err == nil:
			res.Attempt = p.commandSucceeded(res.Attempt)
			r.s.setRepairs(i, p)
			r.s.complete(i, res, now)
		case temporal.IsCanceledError(err):
			p.cancelled()
			r.s.setRepairs(i, p)
			r.s.cancelled(i, now)
		default:
			msg, errType, attempts := describeFailure(err, d)
			var details run.Failure
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.HasDetails() {
				_ = appErr.Details(&details)
			}
			round := p.commandFailed(msg, errType, details, attempts, r.s.stopping == "")
			r.s.setRepairs(i, p)
			if round == 0 {
				r.s.fail(i, msg, errType, p.attempts, now)
				return
			}
			r.logger.Info("repairing a failed command", "node", d.ID, "round", round)
			r.runRepair(ctx, nodesCtx, sel, i, p)
		}
	})
}

// repairWorkspace is what a repaired node's command and agent work on: the
// current round's bases.
func (r *execution) repairWorkspace(p *repairer) *run.NodeWorkspace {
	return &run.NodeWorkspace{Repo: r.ws.Repo, Bases: p.bases, Start: r.ws.StartSHA, Date: r.started}
}

// runRepair runs the current round's agent of repaired node i on p's
// bases; its commit is what the command runs on next.
func (r *execution) runRepair(ctx, nodesCtx workflow.Context, sel workflow.Selector, i int, p *repairer) {
	node := p.agentNode()
	repair := p.context()
	opts := activityOptions(r.p, node)
	opts.ActivityID = RepairActivityID(r.p.Nodes[i].ID, repair.Round)
	in := r.nodeInput(node, r.repairWorkspace(p), -1)
	in.Repair = &repair
	if r.s.budget != nil {
		// The agent stops before a call that would cross the budget; the
		// node then fails with BudgetExceeded.
		in.Budget = r.s.budget.Remaining()
	}
	f := workflow.ExecuteActivity(workflow.WithActivityOptions(nodesCtx, opts), activities.ExecuteNodeName, in)
	sel.AddFuture(f, func(f workflow.Future) {
		var res run.NodeResult
		err := f.Get(ctx, &res)
		now := workflow.Now(ctx)
		switch {
		case err == nil && r.s.stopping == "":
			p.repaired(res)
			r.s.spend(res.Usage) // a run with a budget counts its repair agents too
			r.s.setRepairs(i, p)
			r.runCommand(ctx, nodesCtx, sel, i, p)
		case err == nil, temporal.IsCanceledError(err):
			p.cancelled()
			r.s.setRepairs(i, p)
			r.s.cancelled(i, now)
		default:
			msg, errType, _ := describeFailure(err, node)
			msg, errType = p.agentFailed(msg, errType)
			r.s.setRepairs(i, p)
			r.s.fail(i, msg, errType, p.attempts, now)
		}
	})
}
