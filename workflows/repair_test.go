package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/maestrohq/maestro/activities"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/run"
)

func repairNodeFor(rounds int, agent dag.AgentSpec) (dag.Node, *dag.CommandSpec) {
	c := &dag.CommandSpec{Process: dag.Process{Argv: []string{"go", "test", "./...", "-run", "Test It's"}},
		Repair: &dag.Repair{MaxRounds: rounds, Agent: &agent}}
	return dag.Node{ID: "test", Name: "Tests", Phase: "testing", Timeout: "5m", HeartbeatTimeout: "10s",
		Retry: &dag.Retry{MaxAttempts: 2}, Executor: dag.NewExecutor(c)}, c
}

func exitFailure(code int, tail string) run.Failure {
	return run.Failure{Attempt: 1, ExitCode: &code, StderrTail: tail}
}

// Two rounds that do not fix, a third would: the node fails with the last
// failure once max_rounds are used.
func TestRepairerGivesUpAfterMaxRounds(t *testing.T) {
	d, c := repairNodeFor(2, dag.AgentSpec{Provider: dag.ProviderCommand, Process: dag.Process{Argv: []string{"fix"}}})
	p := newRepairer(d, c, []string{"start"})
	assert.Equal(t, "test", p.commandActivityID())
	assert.Equal(t, int32(1), p.commandAttempts())

	round := p.commandFailed("exit code 1: boom", activities.ErrTypeCommandExit, exitFailure(1, "boom\n"), 1, true)
	require.Equal(t, 1, round)
	r := p.rounds[0]
	assert.Equal(t, run.RepairRunning, r.State)
	assert.Equal(t, 1, *r.ExitCode)
	assert.Equal(t, "boom", r.OutputTail)
	assert.Equal(t, []string{"start"}, p.bases, "round 1 works on the command's base")
	assert.Equal(t, int32(1), p.commandAttempts())

	// The agent's node and what it is told.
	a := p.agentNode()
	assert.Equal(t, "test.repair-1", a.ID)
	assert.Equal(t, "Tests (repair 1)", a.Name)
	assert.Equal(t, d.Timeout, a.Timeout)
	assert.Equal(t, d.Retry, a.Retry)
	spec, ok := dag.SpecOf[*dag.AgentSpec](a.Executor)
	require.True(t, ok)
	assert.Equal(t, dag.DefaultRepairPrompt, spec.Prompt)
	assert.Equal(t, dag.DefaultRepairSystemPrompt, spec.SystemPrompt)
	assert.Empty(t, c.Repair.Agent.Prompt, "the pipeline's spec is not changed")
	require.NoError(t, dag.Pipeline{Name: "x", Nodes: []dag.Node{a}}.Validate(), "the agent node is a valid node")
	ctx := p.context()
	assert.Equal(t, run.RepairContext{Node: "test", Round: 1, MaxRounds: 2, Command: `go test ./... -run 'Test It'\''s'`,
		ExitCode: r.ExitCode, OutputTail: "boom", Error: "exit code 1: boom"}, ctx)

	p.repaired(run.NodeResult{Output: "  changed a.go\n", Commit: &run.Commit{SHA: "fix1", Base: "start", Changed: true}})
	assert.Equal(t, run.RepairTesting, p.rounds[0].State)
	assert.Equal(t, "changed a.go", p.rounds[0].AgentOutput)
	assert.Equal(t, []string{"fix1"}, p.bases, "the command runs again on the fix")
	assert.Equal(t, "test#run-2", p.commandActivityID())
	assert.Equal(t, int32(2), p.commandAttempts(), "the command's second run goes on")

	require.Equal(t, 2, p.commandFailed("exit code 2: still", activities.ErrTypeCommandExit, exitFailure(2, "still"), 1, true))
	assert.Equal(t, run.RepairUnfixed, p.rounds[0].State)
	assert.Equal(t, "test.repair-2", p.agentNode().ID)
	assert.Equal(t, 2, p.context().Round)
	assert.Equal(t, 2, *p.context().ExitCode)
	p.repaired(run.NodeResult{Commit: &run.Commit{SHA: "fix1", Base: "fix1"}}) // no change
	assert.Equal(t, []string{"fix1"}, p.bases)
	assert.Equal(t, "test#run-3", p.commandActivityID())

	assert.Equal(t, 0, p.commandFailed("exit code 2: still", activities.ErrTypeCommandExit, exitFailure(2, "still"), 1, true), "no rounds left")
	assert.Len(t, p.rounds, 2)
	assert.Equal(t, run.RepairUnfixed, p.rounds[1].State)
	assert.Equal(t, int32(3), p.attempts)
}

func TestRepairerFixes(t *testing.T) {
	d, c := repairNodeFor(0, dag.AgentSpec{Prompt: "mine"})
	p := newRepairer(d, c, []string{"a", "b"})
	// A failure after two attempts (a retried timeout, then an exit).
	require.Equal(t, 1, p.commandFailed("exit code 1", activities.ErrTypeCommandExit, run.Failure{Attempt: 2}, 2, true))
	assert.Equal(t, "exit code 1", p.rounds[0].OutputTail, "no stderr: the message")
	assert.Nil(t, p.rounds[0].ExitCode)
	spec, _ := dag.SpecOf[*dag.AgentSpec](p.agentNode().Executor)
	assert.Equal(t, "mine", spec.Prompt)
	assert.Equal(t, dag.DefaultRepairSystemPrompt, spec.SystemPrompt)
	assert.Equal(t, []string{"a", "b"}, p.bases, "round 1 merges the command's bases")
	long := strings.Repeat("é", run.RepairSummaryBytes)
	p.repaired(run.NodeResult{Output: long, Commit: &run.Commit{SHA: "fix", Changed: true}})
	assert.LessOrEqual(t, len(p.rounds[0].AgentOutput), run.RepairSummaryBytes)
	assert.True(t, strings.HasSuffix(p.rounds[0].AgentOutput, "…"))
	assert.Equal(t, int32(3), p.commandAttempts())
	assert.Equal(t, int32(3), p.commandSucceeded(1))
	assert.Equal(t, run.RepairFixed, p.rounds[0].State)
}

func TestRepairerRepairsOnlyExits(t *testing.T) {
	d, c := repairNodeFor(3, dag.AgentSpec{})
	for _, tc := range []struct {
		name, errType string
		mayRepair     bool
	}{
		{"a timeout", activities.ErrTypeTimeout, true},
		{"a program that cannot start", activities.ErrTypeCommandStart, true},
		{"a stopping run", activities.ErrTypeCommandExit, false},
	} {
		p := newRepairer(d, c, []string{"s"})
		assert.Equal(t, 0, p.commandFailed("x", tc.errType, run.Failure{}, 3, tc.mayRepair), tc.name)
		assert.Empty(t, p.rounds, tc.name)
		assert.Equal(t, int32(3), p.attempts, tc.name)
	}
}

func TestRepairerAgentFailsOrIsCancelled(t *testing.T) {
	d, c := repairNodeFor(3, dag.AgentSpec{})
	p := newRepairer(d, c, []string{"s"})
	p.commandFailed("exit code 1: boom", activities.ErrTypeCommandExit, exitFailure(1, "boom"), 1, true)
	msg, typ := p.agentFailed("agent: no API key", activities.ErrTypeConfig)
	assert.Equal(t, "repair round 1 of the command's failure (exit code 1: boom) failed: agent: no API key", msg)
	assert.Equal(t, activities.ErrTypeConfig, typ)
	assert.Equal(t, run.RepairFailed, p.rounds[0].State)
	assert.Equal(t, "agent: no API key", p.rounds[0].Error)
	p.cancelled()
	assert.Equal(t, run.RepairFailed, p.rounds[0].State, "a final round stays as it ended")

	q := newRepairer(d, c, []string{"s"})
	q.cancelled() // before any round: nothing to mark
	q.commandFailed("exit code 1", activities.ErrTypeCommandExit, exitFailure(1, ""), 1, true)
	q.cancelled()
	assert.Equal(t, run.RepairCancelled, q.rounds[0].State)
}

func TestFailureOutput(t *testing.T) {
	assert.Equal(t, "", failureOutput(run.Failure{StdoutTail: " \n", StderrTail: "\n"}))
	assert.Equal(t, "e", failureOutput(run.Failure{StdoutTail: "\n", StderrTail: "e\n"}))
	assert.Equal(t, "  o", failureOutput(run.Failure{StdoutTail: "  o\n"}))
	assert.Equal(t, "stdout:\n--- FAIL\n\nstderr:\nexit status 1", failureOutput(run.Failure{StdoutTail: "--- FAIL\n", StderrTail: "exit status 1\n"}))
	// Status keeps the last KiB of it, cut at a rune.
	d, c := repairNodeFor(1, dag.AgentSpec{})
	p := newRepairer(d, c, nil)
	p.commandFailed("m", activities.ErrTypeCommandExit, run.Failure{StdoutTail: strings.Repeat("é", run.RepairTailBytes) + "end"}, 1, true)
	tail := p.rounds[0].OutputTail
	assert.LessOrEqual(t, len(tail), run.RepairTailBytes)
	assert.True(t, strings.HasSuffix(tail, "éend"))
	assert.True(t, strings.HasPrefix(tail, "é"))
}

func TestActivityIDsOfRepairs(t *testing.T) {
	assert.Equal(t, "build#repair-2", RepairActivityID("build", 2))
	assert.Equal(t, "build#run-3", RerunActivityID("build", 2))
	for id, want := range map[string]struct {
		node string
		own  bool
	}{
		"build":            {"build", true},
		"build.repair-1":   {"build.repair-1", true}, // a node's own ID
		"build#repair-2":   {"build", false},
		"build#run-3":      {"build", true},
		"a.b-c#repair-10":  {"a.b-c", false},
		"maestro:workflow": {"maestro:workflow", true},
	} {
		node, own := NodeOfActivity(id)
		assert.Equal(t, want.node, node, id)
		assert.Equal(t, want.own, own, id)
	}
}

func TestSchedulerShowsRepairs(t *testing.T) {
	d, c := repairNodeFor(3, dag.AgentSpec{})
	s := newScheduler(run.Input{Pipeline: dag.Pipeline{Name: "p", Nodes: []dag.Node{d}}}, nil)
	s.startReady(time.Unix(1700000000, 0), func(int, startKind) {})
	s.takeChanged()
	p := newRepairer(d, c, []string{"s"})
	p.commandFailed("exit code 1", activities.ErrTypeCommandExit, exitFailure(1, "x"), 1, true)
	s.setRepairs(0, p)
	assert.True(t, s.takeChanged())
	st := s.node(0)
	require.Len(t, st.Repairs, 1)
	assert.Equal(t, run.NodeRunning, st.Status, "the node runs on while it is repaired")
	p.rounds[0].State = run.RepairFixed
	assert.Equal(t, run.RepairRunning, s.node(0).Repairs[0].State, "status holds a copy")
	p.repaired(run.NodeResult{Commit: &run.Commit{SHA: "f"}})
	s.setRepairs(0, p)
	res := run.NodeResult{Attempt: p.commandSucceeded(1), Commit: &run.Commit{SHA: "f2", Base: "f"}}
	s.complete(0, res, time.Unix(1700000000, 0))
	assert.Equal(t, int32(2), s.node(0).Attempts)
	assert.Equal(t, []string{"f2"}, s.heads(0, "s"))
}
