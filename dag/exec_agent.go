package dag

import (
	"math"
	"strings"
	"text/template"
)

// KindAgent runs an AI agent: a model API or an agent CLI.
const KindAgent = "agent"

// The agent providers.
const (
	// ProviderAnthropic calls the Anthropic Messages API.
	ProviderAnthropic = "anthropic"
	// ProviderOpenAI calls any OpenAI-compatible Chat Completions API
	// (OpenAI, Ollama, vLLM, LM Studio, ...).
	ProviderOpenAI = "openai"
	// ProviderCommand runs an agent CLI (argv, no shell) with the prompt on
	// stdin, or as an argument where argv has a "{{prompt}}" element.
	ProviderCommand = "command"
)

// MaxAgentTurns bounds an agent node's max_turns.
const MaxAgentTurns = 200

// Providers lists the agent providers.
var Providers = []string{ProviderAnthropic, ProviderOpenAI, ProviderCommand}

// AgentSpec configures an agent node.
type AgentSpec struct {
	// Provider is anthropic, openai or command; empty means the worker's
	// default (MAESTRO_AGENT_PROVIDER). A command provider uses argv, env,
	// pass_env and dir as the command kind does.
	Provider string `json:"provider,omitempty"`
	// Model names the model; empty means the worker's default.
	Model string `json:"model,omitempty"`
	// BaseURL is the API's base URL; empty means the provider's default or
	// the worker's.
	BaseURL string `json:"base_url,omitempty"`
	// MaxTokens caps the answer's length.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Temperature is the sampling temperature, 0 to 2.
	Temperature *float64 `json:"temperature,omitempty"`
	// APIKeyEnv names the worker variable holding the API key.
	APIKeyEnv string `json:"api_key_env,omitempty"`
	// SystemPrompt replaces the phase's built-in role prompt.
	SystemPrompt string `json:"system_prompt,omitempty"`
	// Prompt replaces the phase's built-in prompt template (Go
	// text/template over .Requirement, .Params, .Inputs, .Node, .Phase).
	Prompt string `json:"prompt,omitempty"`
	// SimulatedOutput, when set, lets the node run on a worker with no
	// agent provider: with neither Provider nor the worker's default set,
	// the node completes with this output, marked simulated, instead of
	// failing. The built-in templates set it.
	SimulatedOutput string `json:"simulated_output,omitempty"`
	// MaxTurns bounds the turns of a coding agent (a model API provider
	// in a workspace run, working on the checkout through tools); 0 means
	// the default (40).
	MaxTurns int `json:"max_turns,omitempty"`
	// Preset names a coding-agent CLI of the command provider (one of
	// AgentPresets: claude-code, codex, aider) instead of argv.
	Preset string `json:"preset,omitempty"`
	// Process is the agent program of the command provider.
	Process
}

// Kind returns KindAgent.
func (*AgentSpec) Kind() string { return KindAgent }

// applies refuses argv, env, pass_env and dir unless the provider is command.
func (s *AgentSpec) applies(field string) bool {
	switch field {
	case "argv", "env", "pass_env", "dir", "preset":
		return s.Provider == ProviderCommand
	}
	return true
}

// Validate checks the provider, its program, the settings and that the
// prompts parse.
func (s *AgentSpec) Validate() []Problem {
	var ps problems
	switch s.Provider {
	case "", ProviderAnthropic, ProviderOpenAI:
	case ProviderCommand:
		if s.Preset == "" {
			s.validate(&ps, "the agent program", `["claude", "-p"]`)
		} else if _, known := AgentPresets[s.Preset]; known {
			p := *s
			p.Argv = s.CommandArgv()
			p.validate(&ps, "the agent program", `["claude", "-p"]`)
		}
	default:
		ps.add("provider", "unknown provider %q (one of %s)", s.Provider, strings.Join(Providers, ", "))
	}
	if s.BaseURL != "" && !absoluteHTTPURL(s.BaseURL) {
		ps.add("base_url", "%q is not an absolute http or https URL", s.BaseURL)
	}
	if s.MaxTurns < 0 || s.MaxTurns > MaxAgentTurns {
		ps.add("max_turns", "must be between 0 (the default, 40) and %d, got %d", MaxAgentTurns, s.MaxTurns)
	}
	if s.MaxTokens < 0 {
		ps.add("max_tokens", "must not be negative, got %d", s.MaxTokens)
	}
	if t := s.Temperature; t != nil && (*t < 0 || *t > 2 || math.IsNaN(*t)) {
		ps.add("temperature", "must be between 0 and 2, got %g", *t)
	}
	if s.APIKeyEnv != "" && strings.ContainsAny(s.APIKeyEnv, "=\x00") {
		ps.add("api_key_env", "invalid variable name %q", s.APIKeyEnv)
	}
	s.validatePreset(&ps)
	ps.template("prompt", s.Prompt)
	ps.template("system_prompt", s.SystemPrompt)
	return ps
}

// template checks that text parses as a prompt template.
func (ps *problems) template(field, text string) {
	if text == "" {
		return
	}
	if _, err := template.New(field).Option("missingkey=error").Funcs(PromptFuncs()).Parse(text); err != nil {
		ps.add(field, "invalid template: %v", err)
	}
}
