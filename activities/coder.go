package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/maestrohq/maestro/codetools"
	"github.com/maestrohq/maestro/dag"
	"github.com/maestrohq/maestro/llm"
	"github.com/maestrohq/maestro/run"
)

// DefaultMaxTurns bounds a coding agent's conversation when its node sets
// no max_turns.
const DefaultMaxTurns = 40

// Caps of what the run tool hands the model.
const (
	toolStdoutBytes = 32 << 10
	toolStderrBytes = 16 << 10
)

// coderPrompt is appended to a coding agent's system prompt.
const coderPrompt = `

You work in a git checkout of the project, through tools: list_files, read_file, write_file, edit_file and delete_file (paths relative to the repository's root; .git is off limits), run (a program with its arguments, no shell, in the checkout; only the programs this worker allows) and finish. Make the change your task asks for, in the files where it belongs; run the project's build and tests where you can and fix what fails. When you are done, call finish with a short summary of what you changed and why. Everything you leave in the checkout is committed as your work.`

// runCoder runs an agent node of a model API provider in a workspace run as
// a coding agent: the model works on the checkout through the tools of
// package codetools, in a loop of turns, until it calls finish (or answers
// without calling a tool) or max_turns is reached. Its summary is the
// node's output; what it changed is committed by the checkout's caller.
func (a *Activities) runCoder(ctx context.Context, in run.NodeInput, e *dag.AgentSpec, c agentCall, system, user string) (run.NodeResult, error) {
	m, err := a.openModel(c)
	if err != nil {
		return run.NodeResult{}, err
	}
	box := &codetools.Box{Root: in.Workspace.Dir, Run: a.toolRunner(in)}
	if a.cfg.Policy != nil {
		box.Allowed = a.cfg.Policy.CommandAllowed
	} else {
		box.Allowed = func([]string) bool { return true }
	}
	var tools []llm.Tool
	for _, s := range codetools.Specs() {
		tools = append(tools, llm.Tool{Name: s.Name, Description: s.Description, Parameters: s.Parameters})
	}
	maxTurns := e.MaxTurns
	if maxTurns <= 0 {
		maxTurns = DefaultMaxTurns
	}
	req := llm.Request{Model: c.model, System: system + coderPrompt, MaxTokens: c.maxTokens, Temperature: c.temperature,
		Tools: tools, Messages: []llm.Message{{Role: llm.RoleUser, Text: user}}}
	usage := run.Usage{Model: c.model}
	log := a.cfg.Logger.With(slog.String("workflow_id", in.WorkflowID), slog.String("node", in.Node.ID))
	stop := heartbeat(ctx)
	defer stop()
	changed := map[string]bool{}
	start := time.Now()
	progress := func(turn int, step string) {
		reportProgress(ctx, run.Progress{Turn: turn, Step: step, Files: len(changed),
			InputTokens: usage.InputTokens + usage.CacheReadTokens + usage.CacheWriteTokens, OutputTokens: usage.OutputTokens})
	}
	// next is about the input of the next call: the prompt, then the
	// whole conversation so far (the last call's input and answer).
	next := estimateTokens(req.System, user)
	for turn := 1; turn <= maxTurns; turn++ {
		if err := a.overBudget(in, usage, next); err != nil {
			return run.NodeResult{}, err
		}
		progress(turn, "waiting for the model")
		resp, err := m.client.Send(ctx, req)
		if err != nil {
			return run.NodeResult{}, a.modelError(ctx, in, c, m, err)
		}
		usage.Model = cmpOr(resp.Model, usage.Model)
		usage.InputTokens += resp.Usage.InputTokens
		usage.OutputTokens += resp.Usage.OutputTokens
		usage.CacheReadTokens += resp.Usage.CacheReadTokens
		usage.CacheWriteTokens += resp.Usage.CacheWriteTokens
		req.Messages = append(req.Messages, resp.Message())
		next = resp.Usage.InputTokens + resp.Usage.CacheReadTokens + resp.Usage.CacheWriteTokens + resp.Usage.OutputTokens
		if len(resp.ToolCalls) == 0 {
			// An answer without tool calls ends the work, as finish does.
			return a.coderResult(ctx, log, resp.Text, &usage, turn, changed, start)
		}
		results := make([]llm.ToolResult, 0, len(resp.ToolCalls))
		summary, finished := "", false
		for _, call := range resp.ToolCalls {
			progress(turn, describeCall(call))
			r, err := box.Do(ctx, call.Name, call.Input)
			if err != nil {
				return run.NodeResult{}, err
			}
			for _, p := range r.Changed {
				changed[p] = true
			}
			if r.Finished {
				summary, finished = r.Summary, true
			}
			results = append(results, llm.ToolResult{CallID: call.ID, Output: r.Output, IsError: r.IsError})
		}
		req.Messages = append(req.Messages, llm.Message{Role: llm.RoleUser, Results: results})
		if finished {
			return a.coderResult(ctx, log, summary, &usage, turn, changed, start)
		}
	}
	return run.NodeResult{}, &nodeError{typ: ErrTypeAgentFailed,
		msg: fmt.Sprintf("agent: did not finish within %d turns (max_turns); %d files changed so far, discarded", maxTurns, len(changed))}
}

// coderResult is a finished coding agent's result: its summary as output.
func (a *Activities) coderResult(ctx context.Context, log *slog.Logger, summary string, usage *run.Usage, turns int, changed map[string]bool, start time.Time) (run.NodeResult, error) {
	summary = strings.TrimSpace(summary)
	if summary == "" {
		summary = fmt.Sprintf("(the agent finished without a summary; %d files changed)", len(changed))
	}
	log.InfoContext(ctx, "coding agent finished", slog.Int("turns", turns), slog.Int("files_changed", len(changed)),
		slog.Int("input_tokens", usage.InputTokens), slog.Int("output_tokens", usage.OutputTokens), slog.Duration("took", time.Since(start)))
	res := a.output([]byte(summary), len(summary))
	res.Usage = usage
	return res, nil
}

// toolRunner runs the run tool's programs as command nodes run theirs (no
// shell, own process group, the node's minimal environment), in dir inside
// the checkout, for at most timeout.
func (a *Activities) toolRunner(in run.NodeInput) func(ctx context.Context, argv []string, dir string, timeout time.Duration) (string, int, error) {
	return func(ctx context.Context, argv []string, dir string, timeout time.Duration) (string, int, error) {
		rel, err := filepath.Rel(in.Workspace.Dir, dir)
		if err != nil {
			return "", 0, err
		}
		runCtx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		x, err := a.execArgv(runCtx, in, dag.Process{Dir: rel}, argv, nil, toolStdoutBytes, toolStderrBytes)
		if err != nil {
			if ctx.Err() == nil && errors.Is(runCtx.Err(), context.DeadlineExceeded) {
				return fmt.Sprintf("stopped after %s (timeout)", timeout), -1, nil
			}
			var ne *nodeError
			if errors.As(err, &ne) {
				return "", 0, errors.New(ne.msg)
			}
			return "", 0, err
		}
		var b strings.Builder
		out, _ := capHead(x.stdout.buf, x.stdout.total, toolStdoutBytes)
		b.WriteString(out)
		if x.stderr.total > 0 {
			b.WriteString("\n[stderr]\n")
			b.WriteString(capTail(x.stderr.Bytes(), x.stderr.total, toolStderrBytes))
		}
		return b.String(), x.code, nil
	}
}

// describeCall says what a tool call does, for progress: the tool and its
// path or program.
func describeCall(call llm.ToolCall) string {
	var in struct {
		Path string   `json:"path"`
		Argv []string `json:"argv"`
	}
	_ = json.Unmarshal(call.Input, &in)
	switch {
	case len(in.Argv) > 0:
		return call.Name + " " + capText(strings.Join(in.Argv, " "), 120)
	case in.Path != "":
		return call.Name + " " + capText(in.Path, 120)
	}
	return call.Name
}
