package dag

import (
	"fmt"
	"strings"
)

// KindCommand runs a program (no shell) on the worker.
const KindCommand = "command"

// Process is a program to run, shared by the command kind and the agent
// kind's command provider.
type Process struct {
	// Argv is the program and its arguments. No shell is involved.
	Argv []string `json:"argv,omitempty"`
	// Env sets variables for the process.
	Env map[string]string `json:"env,omitempty"`
	// PassEnv names worker environment variables to pass through (for
	// secrets); nothing else of the worker's environment is passed except
	// PATH, HOME, LANG and TMPDIR.
	PassEnv []string `json:"pass_env,omitempty"`
	// Dir is the working directory.
	Dir string `json:"dir,omitempty"`
}

// validate checks the program and the variable names; example shows a
// valid argv in the message.
func (p *Process) validate(ps *problems, what, example string) {
	if len(p.Argv) == 0 || strings.TrimSpace(p.Argv[0]) == "" {
		ps.add("argv", "must name %s, e.g. %s", what, example)
	}
	for _, k := range sortedKeys(p.Env) {
		if !validEnvName(k) {
			ps.add("env", "invalid variable name %q", k)
		}
	}
	for _, k := range p.PassEnv {
		if !validEnvName(k) {
			ps.add("pass_env", "invalid variable name %q", k)
		}
	}
}

// process returns p; it finds the Process in the specs that hold one.
func (p *Process) process() *Process { return p }

func validEnvName(k string) bool { return k != "" && !strings.ContainsAny(k, "=\x00") }

// CommandSpec configures a command node.
type CommandSpec struct {
	Process
	// Repair, in a workspace run, lets an agent repair the command when it
	// exits non-zero (see Repair).
	Repair *Repair `json:"repair,omitempty"`
}

// Kind returns KindCommand.
func (*CommandSpec) Kind() string { return KindCommand }

// Validate checks the program and the variable names.
func (s *CommandSpec) Validate() []Problem {
	var ps problems
	s.validate(&ps, "a program", `["go", "test", "./..."]`)
	if s.Repair != nil {
		s.Repair.validate(&ps)
	}
	return ps
}

// Repair bounds.
const (
	// DefaultRepairRounds is how many repairs a command gets when its
	// repair names no max_rounds.
	DefaultRepairRounds = 3
	// MaxRepairRounds bounds max_rounds.
	MaxRepairRounds = 10
)

// Repair makes a failing command of a workspace run repairable: when the
// command exits non-zero, an agent works on the command's checkout with the
// failure in its prompt, its changes are committed, and the command runs
// again on that commit, up to MaxRounds times.
type Repair struct {
	// MaxRounds is how many repairs are tried; 0 means
	// DefaultRepairRounds, at most MaxRepairRounds.
	MaxRounds int `json:"max_rounds,omitempty"`
	// Agent is the repairing agent, with the settings of an agent node.
	// Its prompts default to DefaultRepairSystemPrompt and
	// DefaultRepairPrompt, templates that see the failure as .Params.repair
	// (node, round, max_rounds, command, exit_code, output_tail, error).
	Agent *AgentSpec `json:"agent,omitempty"`
}

// Rounds returns MaxRounds with the default applied.
func (r *Repair) Rounds() int {
	if r == nil {
		return 0
	}
	if r.MaxRounds == 0 {
		return DefaultRepairRounds
	}
	return r.MaxRounds
}

// RepairNodeID is the ID of the agent node of a command node's repair
// round (1-based); its commit is pushed to NodeRef of that ID.
func RepairNodeID(node string, round int) string {
	return fmt.Sprintf("%s.repair-%d", node, round)
}

// DefaultRepairSystemPrompt is a repair agent's system prompt unless it
// gives its own.
const DefaultRepairSystemPrompt = `You fix a failing build or test in this repository. ` +
	`You work in a checkout of the repository; change its files so that the failing command succeeds. ` +
	`Fix the cause in the code: do not delete, skip or weaken tests, and do not change the command. ` +
	`Keep the change as small as the fix allows. When you are done, say in a few lines what you changed.`

// DefaultRepairPrompt is a repair agent's prompt unless it gives its own.
const DefaultRepairPrompt = `The command of step {{.Params.repair.node}} failed (repair round {{.Params.repair.round}} of {{.Params.repair.max_rounds}}).

Command: {{.Params.repair.command}}
Exit code: {{with .Params.repair.exit_code}}{{.}}{{else}}unknown{{end}}
{{if .Params.repair.error}}Error: {{.Params.repair.error}}
{{end}}
Output tail:
` + "```" + `
{{.Params.repair.output_tail}}
` + "```" + `

Change the code so that the command succeeds; do not weaken the test.
`

// validate checks the rounds and the agent, reporting under "repair.*".
func (r *Repair) validate(ps *problems) {
	if r.MaxRounds < 0 || r.MaxRounds > MaxRepairRounds {
		ps.add("repair.max_rounds", "must be between 0 (the default, %d) and %d, got %d", DefaultRepairRounds, MaxRepairRounds, r.MaxRounds)
	}
	if r.Agent == nil {
		ps.add("repair.agent", "is required: the agent that repairs the command (the settings of an agent node, e.g. {provider: command, preset: claude-code})")
		return
	}
	for _, p := range r.Agent.Validate() {
		ps.add("repair.agent."+p.Field, "%s", p.Message)
	}
	var stray []string
	for _, f := range kindsByName[KindAgent].setFields(r.Agent) {
		if !r.Agent.applies(f) {
			stray = append(stray, f)
		}
	}
	for _, f := range stray {
		ps.add("repair.agent."+f, "does not apply to provider %q", r.Agent.Provider)
	}
}
