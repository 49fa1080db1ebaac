package dag

import "strings"

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
}

// Kind returns KindCommand.
func (*CommandSpec) Kind() string { return KindCommand }

// Validate checks the program and the variable names.
func (s *CommandSpec) Validate() []Problem {
	var ps problems
	s.validate(&ps, "a program", `["go", "test", "./..."]`)
	return ps
}
