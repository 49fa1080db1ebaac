package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/maestrohq/maestro/api"
	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/process"
	"github.com/maestrohq/maestro/policy"
	"github.com/maestrohq/maestro/run"
	"github.com/maestrohq/maestro/runs"
	"github.com/maestrohq/maestro/templates"
)

// resultWidth caps the result column of the node table, in characters.
const resultWidth = 80

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// printStatus prints a run's state and its node table.
func printStatus(w io.Writer, st *run.Status) {
	fmt.Fprintf(w, "run:       %s (run id %s)\n", st.WorkflowID, st.RunID)
	pipeline := st.Pipeline
	if st.Template != "" && st.Template != st.Pipeline {
		pipeline += " (template " + st.Template + ")"
	}
	fmt.Fprintf(w, "pipeline:  %s, mode %s, %s\n", pipeline, st.Mode, st.FailurePolicy)
	fmt.Fprintf(w, "status:    %s, %d/%d nodes completed%s\n", st.Status, st.CompletedNodes, st.TotalNodes, otherCounts(st))
	if !st.StartedAt.IsZero() {
		line := "started:   " + fmtTime(st.StartedAt)
		if st.EndedAt != nil {
			line += ", ended " + fmtTime(*st.EndedAt) + ", took " + fmtDuration(st.EndedAt.Sub(st.StartedAt))
		}
		fmt.Fprintln(w, line)
	}
	if st.RetryOf != "" {
		fmt.Fprintf(w, "retry of:  %s\n", st.RetryOf)
	}
	if ws := st.Workspace; ws != nil {
		fmt.Fprintf(w, "repo:      %s, from %s (%s)\n", ws.Repo, ws.Ref, shortSHA(ws.StartSHA))
		if ws.Head != "" {
			fmt.Fprintf(w, "branch:    %s at %s, %d files changed, +%d -%d\n", ws.Branch, shortSHA(ws.Head), ws.Files, ws.Insertions, ws.Deletions)
		} else {
			fmt.Fprintf(w, "branch:    %s (pushed when the run completes)\n", ws.Branch)
		}
	}
	if st.Simulated {
		fmt.Fprintln(w, "note:      phases are simulated: the worker has no agent provider configured (MAESTRO_AGENT_PROVIDER)")
	}
	if u := st.Usage; u != nil {
		model := ""
		if u.Model != "" {
			model = u.Model + ", "
		}
		fmt.Fprintf(w, "tokens:    %s%d in, %d out\n", model, u.InputTokens, u.OutputTokens)
	}
	if b := st.Budget; b != nil {
		fmt.Fprintf(w, "budget:    %s\n", budgetLine(b))
	}
	if st.Error != "" {
		fmt.Fprintf(w, "error:     %s\n", oneLine(st.Error))
	}
	for _, l := range []struct {
		name string
		ids  []string
		n    int
	}{{"running", st.Running, st.Counts[run.NodeRunning]}, {"waiting", st.Waiting, st.Counts[run.NodeWaitingApproval] + st.Counts[run.NodeWaitingBudget]}, {"failed", st.Failed, st.Counts[run.NodeFailed]}} {
		if st.NodesNextPageToken == "" || len(l.ids) == 0 {
			continue // a small run lists every node below
		}
		more := ""
		if l.n > len(l.ids) {
			more = fmt.Sprintf(" and %d more", l.n-len(l.ids))
		}
		fmt.Fprintf(w, "%-10s %s%s\n", l.name+":", strings.Join(l.ids, ", "), more)
	}
	fmt.Fprintln(w)
	printNodes(w, st.Nodes)
	if st.NodesNextPageToken != "" {
		fmt.Fprintf(w, "\nthe first %d of %d nodes; all of them: maestro nodes %s [--status failed]\n", len(st.Nodes), st.TotalNodes, st.WorkflowID)
	}
}

// otherCounts lists the non-zero counts of states other than completed.
func otherCounts(st *run.Status) string {
	var parts []string
	for _, s := range run.NodeStates {
		if s != run.NodeCompleted && st.Counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, st.Counts[s]))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// printNodes prints one line per node: id, phase, status, attempts, duration
// and the error or output summary.
func printNodes(w io.Writer, nodes []run.NodeStatus) {
	tw := newTable(w)
	fmt.Fprintln(tw, "NODE\tPHASE\tSTATUS\tATTEMPTS\tDURATION\tRESULT")
	for _, n := range nodes {
		phase := n.Phase
		if phase == "" {
			phase = "-"
		}
		attempts := "-"
		if n.Attempts > 0 {
			attempts = strconv.Itoa(int(n.Attempts))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, phase, n.Status, attempts, nodeDuration(n), nodeResult(n))
		for _, r := range n.Repairs {
			fmt.Fprintf(tw, "  ↳ repair %d\t\t%s\t\t\t%s\n", r.Round, r.State, repairResult(r))
		}
	}
	tw.Flush()
}

func nodeDuration(n run.NodeStatus) string {
	switch {
	case n.StartedAt == nil:
		return "-"
	case n.EndedAt == nil:
		return fmtDuration(time.Since(*n.StartedAt)) + "…"
	default:
		return fmtDuration(n.EndedAt.Sub(*n.StartedAt))
	}
}

func nodeResult(n run.NodeStatus) string {
	var s string
	switch {
	case n.Error != "":
		s = n.Error
	case n.LastError != "":
		s = "retrying after: " + n.LastError
	case n.Status == run.NodeRunning && n.Progress != nil:
		s = describeProgress(n.Progress)
	default:
		s = n.Output
	}
	if c := n.Commit; c != nil && n.Error == "" {
		if c.Changed {
			s = fmt.Sprintf("%s (%d files, +%d -%d) %s", shortSHA(c.SHA), c.Files, c.Insertions, c.Deletions, s)
		} else {
			s = shortSHA(c.SHA) + " (no changes) " + s
		}
	}
	if n.Reused {
		s = "(reused) " + s
	}
	return clip(oneLine(s), resultWidth)
}

// repairResult sums up a repair round: the failure it repairs, its fix
// commit and what the agent said, or why the agent failed.
func repairResult(r run.RepairRound) string {
	s := "after a failure"
	if r.ExitCode != nil {
		s = fmt.Sprintf("after exit code %d", *r.ExitCode)
	}
	switch c := r.Commit; {
	case r.Error != "":
		s += ": agent failed: " + r.Error
	case c == nil:
		if lines := strings.Split(strings.TrimSpace(r.OutputTail), "\n"); lines[len(lines)-1] != "" {
			s += ": " + lines[len(lines)-1]
		}
	case c.Changed:
		s = fmt.Sprintf("%s: %s (%d files, +%d -%d) %s", s, shortSHA(c.SHA), c.Files, c.Insertions, c.Deletions, r.AgentOutput)
	default:
		s = fmt.Sprintf("%s: no changes %s", s, r.AgentOutput)
	}
	return clip(oneLine(s), resultWidth)
}

// shortSHA is a commit's first 12 hex digits, or "-".
func shortSHA(sha string) string {
	switch {
	case sha == "":
		return "-"
	case len(sha) > 12:
		return sha[:12]
	}
	return sha
}

// printRuns prints the run list.
func printRuns(w io.Writer, list []runs.RunSummary) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no runs")
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "WORKFLOW ID\tPIPELINE\tSTATUS\tSTARTED\tDURATION")
	for _, r := range list {
		pipeline := r.Pipeline
		if pipeline == "" {
			pipeline = "-"
		}
		if r.Template != "" && r.Template != r.Pipeline {
			pipeline += " (template " + r.Template + ")"
		}
		took := "-"
		if r.EndedAt != nil {
			took = fmtDuration(r.EndedAt.Sub(r.StartedAt))
		} else if !r.StartedAt.IsZero() {
			took = fmtDuration(time.Since(r.StartedAt)) + "…"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.WorkflowID, pipeline, r.Status, fmtTime(r.StartedAt), took)
	}
	tw.Flush()
}

// printValidation prints a valid pipeline's settings and execution levels.
func printValidation(w io.Writer, v validation) {
	fmt.Fprintf(w, "%s: pipeline %q is valid (%d nodes)\n", v.File, v.Pipeline, v.Nodes)
	fmt.Fprintf(w, "mode:           %s (from %s)\n", v.Mode, v.ModeSource)
	fmt.Fprintf(w, "parallelism:    %d\n", v.Parallelism)
	fmt.Fprintf(w, "timeout:        %s\n", v.Timeout)
	fmt.Fprintf(w, "failure policy: %s\n", v.FailurePolicy)
	fmt.Fprintln(w, "levels:")
	for i, level := range v.Levels {
		fmt.Fprintf(w, "  %d: %s\n", i, strings.Join(level, ", "))
	}
	if len(v.Order) > 0 {
		fmt.Fprintf(w, "order (one at a time): %s\n", strings.Join(v.Order, " → "))
	}
}

// printTemplates prints the built-in templates with their levels.
func printTemplates(w io.Writer, list []templates.Info) {
	for i, t := range list {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (mode %s)\n  %s\n", t.Name, t.Mode, t.Description)
		for j, level := range t.Levels {
			fmt.Fprintf(w, "  level %d: %s\n", j, strings.Join(level, ", "))
		}
	}
}

// printConfig prints the effective configuration.
func printConfig(w io.Writer, e config.Effective) {
	apiKey := "not set"
	if e.APIKeySet {
		apiKey = "set"
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "temporal address:\t%s\n", e.TemporalAddress)
	fmt.Fprintf(tw, "namespace:\t%s\n", e.Namespace)
	fmt.Fprintf(tw, "task queue:\t%s\n", e.TaskQueue)
	fmt.Fprintf(tw, "default mode:\t%s\n", e.DefaultMode)
	fmt.Fprintf(tw, "  MAESTRO_ENABLE_DAG_EXECUTION:\t%s\n", e.DAGExecution)
	fmt.Fprintf(tw, "  MAESTRO_ENABLE_PARALLEL_EXECUTION:\t%s\n", e.Parallel)
	fmt.Fprintf(tw, "tls:\t%t\n", e.TLS)
	fmt.Fprintf(tw, "temporal api key:\t%s\n", apiKey)
	fmt.Fprintf(tw, "data directory:\t%s\n", e.DataDir)
	fmt.Fprintf(tw, "artifact directory:\t%s\n", e.ArtifactDir)
	fmt.Fprintf(tw, "worker process records:\t%s\n", e.WorkerProcDir)
	fmt.Fprintf(tw, "worker metrics:\t%s\n", orNone(e.MetricsAddr, "off"))
	fmt.Fprintf(tw, "worker stop timeout:\t%s\n", e.WorkerStopTimeout)
	agent := orNone(strings.TrimSpace(e.AgentProvider+" "+e.AgentModel), "none (template phases simulated)")
	if e.AgentPreset != "" {
		agent += " (preset " + e.AgentPreset + ")"
	}
	fmt.Fprintf(tw, "agent provider:\t%s\n", agent)
	fmt.Fprintf(tw, "template limits:\t%d bytes, %s per template\n", e.TemplateMaxBytes, e.TemplateTimeout)
	// Counts per role, never the tokens.
	total := 0
	for _, n := range e.APITokenRoles {
		total += n
	}
	token := fmt.Sprintf("set (%d read, %d operate, %d admin)",
		e.APITokenRoles[string(api.RoleRead)], e.APITokenRoles[string(api.RoleOperate)], e.APITokenRoles[string(api.RoleAdmin)])
	switch {
	case total > 0 || e.APITokenSet:
	case process.IsLoopback(e.APIAddr):
		token = "not set (no auth; the API listens on loopback only)"
	default:
		token = "NOT SET: `maestro api` refuses to serve " + e.APIAddr + ", beyond loopback, without it (unless --insecure); set " +
			config.EnvAPIToken + ", " + config.EnvAPITokens + " or " + config.EnvAPITokensFile
	}
	rate := "off"
	if e.APIRateLimit > 0 {
		rate = fmt.Sprintf("%g/s per client", e.APIRateLimit)
	}
	fmt.Fprintf(tw, "api address:\t%s\n", e.APIAddr)
	fmt.Fprintf(tw, "api token:\t%s\n", token)
	if e.APITokensFile != "" {
		fmt.Fprintf(tw, "api tokens file:\t%s\n", e.APITokensFile)
	}
	fmt.Fprintf(tw, "api rate limit:\t%s\n", rate)
	fmt.Fprintf(tw, "api cors origins:\t%s\n", orNone(strings.Join(e.APICORSOrigins, ", "), "none"))
	tw.Flush()
}

// orNone returns s, or none when s is empty.
func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.RFC3339)
}

func fmtDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	default:
		return d.Round(time.Second).String()
	}
}

// oneLine collapses whitespace, newlines included, to single spaces, and
// makes what a terminal would act on visible: control characters (an
// escape sequence in a node's output could recolour the screen, set its
// title or the clipboard) as \x1b or \u009b, invalid UTF-8 as U+FFFD.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unicode.IsControl(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			fmt.Fprintf(&b, "\\u%04x", r)
		}
	}
	return b.String()
}

// clip cuts s to at most n characters, marking the cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// printPolicy shows the worker policy (`maestro config`).
func printPolicy(w io.Writer, p *policy.Policy) {
	tw := newTable(w)
	fmt.Fprintf(tw, "worker policy:\t%s\n", p.Origin)
	cmds := make([]string, len(p.Commands))
	for i, c := range p.Commands {
		cmds[i] = c.String()
	}
	fmt.Fprintf(tw, "  kinds:\t%s\n", orNone(strings.Join(p.Kinds, ", "), "none"))
	fmt.Fprintf(tw, "  commands:\t%s\n", orNone(strings.Join(cmds, ", "), "none"))
	fmt.Fprintf(tw, "  variables:\t%s (never MAESTRO_*, TEMPORAL_*)\n", orNone(strings.Join(p.Env, ", "), "none"))
	fmt.Fprintf(tw, "  http:\t%s\n", p.HTTP.Describe())
	fmt.Fprintf(tw, "  agent base URLs:\t%s\n", p.Agent.Describe())
	tw.Flush()
}

// budgetLine says what a run spent of its budget: "$0.0123 of $5.00, 1200
// of 100000 tokens".
func budgetLine(b *run.Budget) string {
	var parts []string
	if b.USD > 0 {
		parts = append(parts, fmt.Sprintf("$%.4f of $%.2f", b.SpentUSD, b.USD))
	} else {
		parts = append(parts, fmt.Sprintf("$%.4f", b.SpentUSD))
	}
	if b.Tokens > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d tokens", b.SpentTokens, b.Tokens))
	} else {
		parts = append(parts, fmt.Sprintf("%d tokens", b.SpentTokens))
	}
	line := strings.Join(parts, ", ")
	if b.Reached() {
		line += " (reached: agents wait for maestro budget)"
	}
	if b.CostUnknown {
		line += " (some models have no price: their cost is not counted)"
	}
	return line
}
