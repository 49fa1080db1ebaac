// Package policy is the worker policy: what pipelines may make a worker do.
// It says which executor kinds may run, which programs command nodes (and
// agent nodes of the command provider) may start, which worker variables
// pipelines may read (pass_env, {{env "X"}} in http templates, api_key_env)
// and where http and agent nodes may connect. Workers check every node
// before it runs (and their http clients check every connection's resolved
// address); the runs service checks a whole pipeline before starting it.
//
// The policy is read from plain values (see Source): a policy file (YAML or
// JSON) and variables that override its lists, as package config reads
// them. MAESTRO_* and TEMPORAL_* variables are never readable by pipelines,
// whatever a policy says.
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/maestrohq/maestro/dag"
)

// Any, as the only or one entry of a list, allows everything of that list.
const Any = "*"

// Policy is a worker policy. The zero value allows nothing; use Default,
// AllowAll or Load.
type Policy struct {
	// Kinds are the executor kinds pipelines may use.
	Kinds []string `json:"kinds"`
	// Commands are the programs command nodes and agent nodes of the
	// command provider may run.
	Commands []Command `json:"commands"`
	// Env are the worker variables pipelines may read: names, or prefixes
	// ending in "*" (e.g. "CI_*").
	Env []string `json:"env"`
	// HTTP is where http nodes may connect.
	HTTP Egress `json:"http"`
	// Repos are the repositories workspace runs may use: locations as a
	// pipeline writes them (absolute paths, git URLs), or prefixes ending
	// in "*" (e.g. "/srv/git/*", "https://github.com/acme/*").
	Repos []string `json:"repos"`
	// Agent is where agent nodes' model APIs (a node's base_url) may be.
	// Agent calls carry the worker's API key, so by default only the
	// providers' own APIs (DefaultAgentHosts, always allowed) and the
	// worker's MAESTRO_AGENT_BASE_URL are: no other public address.
	Agent Egress `json:"agent"`
	// Origin says where the policy comes from, for people.
	Origin string `json:"origin"`
}

// Command allows a program, optionally only with leading arguments.
type Command struct {
	// Program is a program name (matched against argv[0] as written) or
	// an absolute path; "*" is any program.
	Program string `json:"program"`
	// Args, when not empty, must be argv[1:len(Args)+1].
	Args []string `json:"args,omitempty"`
}

// String is the command as written in a policy: program and arguments.
func (c Command) String() string { return strings.Join(append([]string{c.Program}, c.Args...), " ") }

// ParseCommand reads "program [arg...]", split on white space.
func ParseCommand(s string) (Command, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return Command{}, errors.New("empty command")
	}
	if f[0] != Any && strings.Contains(f[0], "/") && !strings.HasPrefix(f[0], "/") {
		return Command{}, fmt.Errorf("command %q: give a program name or an absolute path", s)
	}
	c := Command{Program: f[0]}
	if len(f) > 1 {
		c.Args = f[1:]
	}
	return c, nil
}

// DefaultKinds are the executor kinds a worker allows without a policy.
var DefaultKinds = []string{dag.KindNoop, dag.KindHTTP, dag.KindAgent, dag.KindApproval}

// DefaultSchemes are the URL schemes allowed unless a policy lists others.
var DefaultSchemes = []string{"http", "https"}

// DefaultAgentHosts are the model APIs agent nodes may always call: the
// providers' own (see activities.DefaultAnthropicURL, DefaultOpenAIURL).
var DefaultAgentHosts = []string{"api.anthropic.com:443", "api.openai.com:443"}

// Default is the policy of `maestro worker` and `maestro api` without one:
// noop, http to public addresses, agent nodes (calling the providers' APIs)
// and approval nodes; no commands, no worker variables.
func Default() *Policy {
	return &Policy{
		Kinds:  slices.Clone(DefaultKinds),
		HTTP:   Egress{Schemes: slices.Clone(DefaultSchemes), Public: true},
		Agent:  Egress{Schemes: slices.Clone(DefaultSchemes), Allow: slices.Clone(DefaultAgentHosts)},
		Origin: "default",
	}
}

// AllowAll is the policy of `maestro dev` without one: everything (but
// MAESTRO_* and TEMPORAL_* variables) is allowed.
func AllowAll() *Policy {
	all := Egress{Schemes: slices.Clone(DefaultSchemes), Allow: []string{Any}, Public: true}
	return &Policy{
		Kinds:    []string{Any},
		Commands: []Command{{Program: Any}},
		Env:      []string{Any},
		HTTP:     all,
		Agent:    all,
		Repos:    []string{Any},
		Origin:   "everything allowed (dev mode)",
	}
}

// Source holds the plain values a policy is read from (package config
// reads them). A nil list is not set; a set list replaces the file's.
type Source struct {
	// File is the policy file (YAML or JSON); empty: none.
	File string
	// Kinds, Commands, Env, HTTPAllow, AgentAllow and Repos override the
	// file's (or the default's) lists when not nil.
	Kinds, Commands, Env, HTTPAllow, AgentAllow, Repos []string
}

// Empty reports whether s sets nothing.
func (s Source) Empty() bool {
	return s.File == "" && s.Kinds == nil && s.Commands == nil && s.Env == nil && s.HTTPAllow == nil && s.AgentAllow == nil && s.Repos == nil
}

// file is the policy file's format.
type file struct {
	Kinds    []string   `yaml:"kinds"`
	Commands []string   `yaml:"commands"`
	Env      []string   `yaml:"env"`
	HTTP     egressFile `yaml:"http"`
	Agent    egressFile `yaml:"agent"`
	Repos    []string   `yaml:"repos"`
}

type egressFile struct {
	Schemes []string `yaml:"schemes"`
	Public  *bool    `yaml:"public"`
	Allow   []string `yaml:"allow"`
}

// Load reads the policy src describes; when src is empty it returns def.
// Unset kinds are DefaultKinds, plus command when a command is allowed.
func Load(src Source, def *Policy) (*Policy, error) {
	if src.Empty() {
		return def, nil
	}
	var f file
	var origin []string
	if src.File != "" {
		data, err := os.ReadFile(src.File)
		if err != nil {
			return nil, fmt.Errorf("policy file: %w", err)
		}
		if f, err = parseFile(data); err != nil {
			return nil, fmt.Errorf("policy file %s: %w", src.File, err)
		}
		origin = append(origin, "file "+src.File)
	}
	over := func(dst *[]string, v []string) {
		if v != nil {
			*dst = v
			origin = append(origin, "environment")
		}
	}
	over(&f.Kinds, src.Kinds)
	over(&f.Commands, src.Commands)
	over(&f.Env, src.Env)
	over(&f.HTTP.Allow, src.HTTPAllow)
	over(&f.Agent.Allow, src.AgentAllow)
	over(&f.Repos, src.Repos)
	slices.Sort(origin)
	p, err := f.policy()
	if err != nil {
		return nil, fmt.Errorf("worker policy (%s): %w", strings.Join(slices.Compact(origin), " + "), err)
	}
	p.Origin = strings.Join(slices.Compact(origin), " + ")
	return p, nil
}

// Parse reads a policy file's contents (YAML or JSON), refusing unknown
// fields.
func Parse(data []byte) (*Policy, error) {
	f, err := parseFile(data)
	if err != nil {
		return nil, err
	}
	return f.policy()
}

func parseFile(data []byte) (file, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return file{}, fmt.Errorf("parse: %w", err)
	}
	return f, nil
}

func (f file) policy() (*Policy, error) {
	var errs []error
	p := &Policy{Env: f.Env, Repos: f.Repos}
	for _, r := range p.Repos {
		if r == "" || (strings.Contains(r, "*") && (!strings.HasSuffix(r, "*") || strings.Count(r, "*") > 1)) {
			errs = append(errs, fmt.Errorf("repos: %q is not a repository or a prefix ending in *", r))
		}
	}
	for _, c := range f.Commands {
		cmd, err := ParseCommand(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("commands: %w", err))
			continue
		}
		p.Commands = append(p.Commands, cmd)
	}
	p.Kinds = f.Kinds
	if p.Kinds == nil {
		p.Kinds = slices.Clone(DefaultKinds)
		if len(p.Commands) > 0 {
			p.Kinds = append(p.Kinds, dag.KindCommand)
		}
	}
	for _, k := range p.Kinds {
		if k != Any && !slices.Contains(dag.Kinds, k) {
			errs = append(errs, fmt.Errorf("kinds: unknown executor kind %q (one of %s)", k, strings.Join(dag.Kinds, ", ")))
		}
	}
	for _, e := range p.Env {
		if e == "" || strings.ContainsAny(e, "=\x00") || (strings.Contains(e, "*") && !strings.HasSuffix(e, "*")) {
			errs = append(errs, fmt.Errorf("env: %q is not a variable name or a prefix ending in *", e))
		}
	}
	var err error
	if p.HTTP, err = f.HTTP.egress("http"); err != nil {
		errs = append(errs, err)
	}
	if f.Agent.Public == nil {
		f.Agent.Public = new(false)
	}
	if p.Agent, err = f.Agent.egress("agent"); err != nil {
		errs = append(errs, err)
	}
	p.Agent.Allow = append(slices.Clone(DefaultAgentHosts), p.Agent.Allow...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

func (f egressFile) egress(name string) (Egress, error) {
	e := Egress{Schemes: f.Schemes, Public: f.Public == nil || *f.Public, Allow: f.Allow}
	if e.Schemes == nil {
		e.Schemes = slices.Clone(DefaultSchemes)
	}
	var errs []error
	for _, s := range e.Schemes {
		if s != "http" && s != "https" {
			errs = append(errs, fmt.Errorf("%s.schemes: %q is not http or https", name, s))
		}
	}
	for _, a := range e.Allow {
		if _, err := parseRule(a); err != nil {
			errs = append(errs, fmt.Errorf("%s.allow: %w", name, err))
		}
	}
	return e, errors.Join(errs...)
}

// KindAllowed reports whether nodes of kind may run.
func (p *Policy) KindAllowed(kind string) bool {
	return slices.Contains(p.Kinds, Any) || slices.Contains(p.Kinds, kind)
}

// CommandAllowed reports whether argv may run.
func (p *Policy) CommandAllowed(argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	for _, c := range p.Commands {
		if c.Program == Any {
			return true
		}
		if c.Program == argv[0] && len(argv)-1 >= len(c.Args) && slices.Equal(c.Args, argv[1:len(c.Args)+1]) {
			return true
		}
	}
	return false
}

// RepoAllowed reports whether workspace runs may use repo: it is listed,
// or starts with a listed prefix ending in "*". A local path must be clean
// (no "..") to match a prefix.
func (p *Policy) RepoAllowed(repo string) bool {
	if repo == "" {
		return false
	}
	clean := !dag.HasDotSegments(repo) && (!strings.HasPrefix(repo, "/") || filepath.Clean(repo) == strings.TrimSuffix(repo, "/"))
	return listed(p.Repos, repo, clean)
}

// RepoDenial says why repo is refused, naming what is allowed.
func (p *Policy) RepoDenial(repo string) string {
	return fmt.Sprintf("repository %q is not allowed by the worker policy (allowed: %s; set MAESTRO_POLICY_REPOS or repos in the policy file)", repo, list(p.Repos))
}

// Reserved reports whether pipelines may never read the variable name:
// Maestro's and Temporal's own (tokens, keys, addresses).
func Reserved(name string) bool {
	u := strings.ToUpper(name)
	return strings.HasPrefix(u, "MAESTRO_") || strings.HasPrefix(u, "TEMPORAL_")
}

// EnvAllowed reports whether pipelines may read the worker variable name.
func (p *Policy) EnvAllowed(name string) bool {
	if Reserved(name) || name == "" {
		return false
	}
	return listed(p.Env, name, true)
}

// listed reports whether name is in list: "*", the name itself, or — when
// prefixes apply — an entry ending in "*" that name starts with.
func listed(list []string, name string, prefixes bool) bool {
	for _, e := range list {
		if e == Any || e == name || (prefixes && strings.HasSuffix(e, "*") && strings.HasPrefix(name, strings.TrimSuffix(e, "*"))) {
			return true
		}
	}
	return false
}

// Describe is the policy in one line, for logs and banners.
func (p *Policy) Describe() string {
	if p.Origin == AllowAll().Origin {
		return p.Origin
	}
	cmds := make([]string, len(p.Commands))
	for i, c := range p.Commands {
		cmds[i] = c.String()
	}
	return fmt.Sprintf("%s: kinds %s; commands %s; env %s; http %s; agent %s; repos %s",
		p.Origin, list(p.Kinds), list(cmds), list(p.Env), p.HTTP.Describe(), p.Agent.Describe(), list(p.Repos))
}

// list joins names, or says none.
func list(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return strings.Join(v, ", ")
}

// addrOf returns the address of a literal IP host, if host is one.
func addrOf(host string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
