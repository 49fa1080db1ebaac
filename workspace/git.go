package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// stderrCap is how many trailing bytes of git's stderr are kept for error
// messages.
const stderrCap = 4 << 10

// GitError reports a git command that failed. Args are the command's
// arguments (after "git" and the fixed "-c" settings) with any URL userinfo
// redacted; Stderr is the last 4 KiB of its standard error, redacted the same
// way. When the command was killed because its context ended, Err is the
// context's error, so errors.Is(err, context.Canceled) holds.
type GitError struct {
	Args     []string
	Dir      string
	ExitCode int
	Stderr   string
	Err      error
}

// Error implements error.
func (e *GitError) Error() string {
	msg := fmt.Sprintf("git %s: %v", strings.Join(e.Args, " "), e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Unwrap returns the underlying error (an *exec.ExitError, a context error, or
// the error starting git).
func (e *GitError) Unwrap() error { return e.Err }

// fixedConfig is passed as "-c" settings to every git command: no hooks, no
// signing, no prompts, no line-ending conversion, no background gc or
// maintenance, no rerere (a worker's recorded resolutions would make merges
// differ between workers), no fsmonitor daemons in checkouts.
var fixedConfig = []string{
	"-c", "core.hooksPath=/dev/null",
	"-c", "core.autocrlf=false",
	"-c", "core.fsmonitor=false",
	"-c", "commit.gpgSign=false",
	"-c", "credential.interactive=false",
	"-c", "gc.auto=0",
	"-c", "maintenance.auto=false",
	"-c", "rerere.enabled=false",
	"-c", "color.ui=false",
	"-c", "advice.detachedHead=false",
	"-c", "diff.noprefix=false",
	"-c", "diff.mnemonicPrefix=false",
}

// scrubbedEnv lists variables removed from git's environment: ones that would
// point git at another repository or index, and askpass programs (git must
// never prompt).
var scrubbedEnv = map[string]bool{
	"GIT_DIR": true, "GIT_WORK_TREE": true, "GIT_INDEX_FILE": true,
	"GIT_OBJECT_DIRECTORY": true, "GIT_ALTERNATE_OBJECT_DIRECTORIES": true,
	"GIT_COMMON_DIR": true, "GIT_NAMESPACE": true, "GIT_PREFIX": true,
	"GIT_ASKPASS": true, "SSH_ASKPASS": true,
	"GIT_AUTHOR_NAME": true, "GIT_AUTHOR_EMAIL": true, "GIT_AUTHOR_DATE": true,
	"GIT_COMMITTER_NAME": true, "GIT_COMMITTER_EMAIL": true, "GIT_COMMITTER_DATE": true,
}

func sanitizeEnv(env []string) []string {
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if scrubbedEnv[k] {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GIT_TERMINAL_PROMPT=0", "GIT_EDITOR=:", "GIT_PAGER=cat")
}

// runner runs git commands.
type runner struct {
	bin string
	env []string
	log *slog.Logger
}

// call describes one git invocation.
type call struct {
	dir    string
	env    []string  // extra variables, appended last (they win)
	stdin  io.Reader // nil = no input
	stdout io.Writer // nil = captured and returned
}

// git runs git with args in dir and returns its trimmed standard output.
func (r *runner) git(ctx context.Context, dir string, args ...string) (string, error) {
	return r.run(ctx, call{dir: dir}, args...)
}

func (r *runner) run(ctx context.Context, c call, args ...string) (string, error) {
	full := make([]string, 0, len(fixedConfig)+len(args))
	full = append(full, fixedConfig...)
	full = append(full, args...)
	cmd := exec.CommandContext(ctx, r.bin, full...)
	cmd.Dir = c.dir
	cmd.Env = append(append([]string(nil), r.env...), c.env...)
	cmd.Stdin = c.stdin
	var out bytes.Buffer
	if c.stdout != nil {
		cmd.Stdout = c.stdout
	} else {
		cmd.Stdout = &out
	}
	stderr := &tailBuffer{max: stderrCap}
	cmd.Stderr = stderr
	cmd.WaitDelay = 2 * time.Second
	setProcessGroup(cmd)
	start := time.Now()
	err := cmd.Run()
	redArgs := redactArgs(args)
	if r.log != nil {
		r.log.LogAttrs(ctx, slog.LevelDebug, "git",
			slog.Any("args", redArgs), slog.String("dir", c.dir),
			slog.Duration("took", time.Since(start)), slog.Bool("ok", err == nil))
	}
	if err != nil {
		ge := &GitError{Args: redArgs, Dir: c.dir, ExitCode: -1, Stderr: RedactText(stderr.String()), Err: err}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ge.ExitCode = ee.ExitCode()
		}
		if ctx.Err() != nil {
			ge.Err = ctx.Err()
		}
		return strings.TrimSpace(out.String()), ge
	}
	return strings.TrimSpace(out.String()), nil
}

// exitCode returns the exit code of a *GitError in err's chain, or -1.
func exitCode(err error) int {
	var ge *GitError
	if errors.As(err, &ge) && ge.ExitCode >= 0 && !errors.Is(ge.Err, context.Canceled) && !errors.Is(ge.Err, context.DeadlineExceeded) {
		return ge.ExitCode
	}
	return -1
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max  int
	buf  []byte
	lost bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
		t.lost = true
	}
	return n, nil
}

func (t *tailBuffer) String() string {
	if t.lost {
		return "…" + string(t.buf)
	}
	return string(t.buf)
}

// cappedWriter keeps the first max bytes and fails writes after that, which
// makes git stop early (EPIPE) instead of producing output nobody reads.
type cappedWriter struct {
	max       int
	buf       bytes.Buffer
	truncated bool
}

var errCapped = errors.New("output cap reached")

func (w *cappedWriter) Write(p []byte) (int, error) {
	room := w.max - w.buf.Len()
	if len(p) <= room {
		return w.buf.Write(p)
	}
	if room > 0 {
		w.buf.Write(p[:room])
	}
	w.truncated = true
	return room, errCapped
}

var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]*@`)

// RedactText removes the userinfo (user name, password, token) from every
// URL with a scheme in s.
func RedactText(s string) string {
	return userinfoRE.ReplaceAllString(s, "$1")
}

// Redact returns repo without the userinfo of its URL, if it has a scheme:
// "https://user:token@host/x.git" becomes "https://host/x.git". Local paths
// and scp-like locations ("git@host:x.git", whose user is not a secret) are
// returned unchanged.
func Redact(repo string) string {
	return RedactText(repo)
}

func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = RedactText(a)
	}
	return out
}

// discardLogger is used when Options.Logger is nil.
var discardLogger = slog.New(slog.DiscardHandler)

// osEnviron is a hook for tests.
var osEnviron = os.Environ
