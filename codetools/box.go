// Package codetools is the set of tools an AI agent node uses to work in a
// checkout: list, read, write, edit and delete files, run programs, and
// finish. It is independent of any model SDK: Specs describes the tools (name,
// description, JSON-schema parameters) for the model, and Box.Do executes the
// calls the model makes, confined to the checkout.
//
// Confinement: every path is relative to the checkout. Absolute paths, paths
// that climb out with "..", NUL bytes and any component named .git are
// refused. Symlinks inside the checkout are followed only while they stay in
// it and out of .git: a link that is absolute, climbs out, or leads into .git
// is refused (so `ln -s / escape` gives nothing). Writing or editing through a
// symlink that points inside the checkout is allowed and changes the target
// (Result.Changed names the target). delete_file on a symlink removes the link
// itself, never its target. All file access goes through os.Root, which
// enforces the same confinement against races. Not covered: hard links made
// before the run to files outside the checkout, and whatever a program
// started by the run tool does (that is the worker policy's job).
package codetools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Defaults for the Box limits left zero.
const (
	DefaultMaxReadBytes   = 64 << 10
	DefaultMaxWriteBytes  = 1 << 20
	DefaultMaxListEntries = 2000
	DefaultRunTimeout     = 2 * time.Minute
	DefaultMaxRunTimeout  = 10 * time.Minute
)

// binarySniff is how much of a file's start is checked for NUL bytes.
const binarySniff = 8 << 10

// Box executes tool calls in one checkout. Its fields are read only by Do, so
// one Box may serve concurrent calls.
type Box struct {
	// Root is the checkout, an absolute path.
	Root string
	// Run runs argv in dir (an absolute directory inside Root) with a timeout
	// and returns its combined output (already capped by the runner), its exit
	// code, and an error only when it could not run. Nil: the run tool is
	// refused ("no commands on this worker").
	Run func(ctx context.Context, argv []string, dir string, timeout time.Duration) (output string, exitCode int, err error)
	// Allowed reports whether argv may run (the worker policy); nil allows
	// nothing. Refusals name the program.
	Allowed func(argv []string) bool
	// MaxReadBytes caps read_file output (default 64 KiB); a larger file is
	// cut with a note telling the offset to read on from.
	MaxReadBytes int
	// MaxWriteBytes caps one write_file content, and the size of a file
	// before and after edit_file (default 1 MiB).
	MaxWriteBytes int
	// MaxListEntries caps list_files output (default 2,000).
	MaxListEntries int
	// DefaultTimeout is the run timeout when the model gives none (default
	// 2 min); MaxTimeout caps the timeout the model asks for (default 10 min).
	DefaultTimeout, MaxTimeout time.Duration
}

// Result is a tool call's outcome, returned to the model as the tool result.
type Result struct {
	// Output is the text for the model.
	Output string
	// IsError marks a refused or failed call (the model sees it and may try
	// something else). A program that ran and exited non-zero is not an
	// error: its output ends with its exit code.
	IsError bool
	// Changed lists the paths (slash-separated, relative to Root) this call
	// created, modified or deleted. The run tool leaves it empty: a program
	// may change anything, so callers look at the checkout (git status).
	Changed []string
	// Finished is set by finish, with the model's Summary.
	Finished bool
	Summary  string
}

// Do executes one call. input is the JSON arguments the model sent (empty or
// null means no arguments). Unknown tools, malformed input and refusals are
// Results with IsError (never a Go error); the only Go error is ctx's when it
// ended before or during the call.
func (b *Box) Do(ctx context.Context, name string, input json.RawMessage) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	var res Result
	switch name {
	case ToolListFiles:
		res = b.withRoot(name, input, b.listFiles)
	case ToolReadFile:
		res = b.withRoot(name, input, b.readFile)
	case ToolWriteFile:
		res = b.withRoot(name, input, b.writeFile)
	case ToolEditFile:
		res = b.withRoot(name, input, b.editFile)
	case ToolDeleteFile:
		res = b.withRoot(name, input, b.deleteFile)
	case ToolRun:
		res = b.withRoot(name, input, func(root *os.Root, in json.RawMessage) Result { return b.run(ctx, root, in) })
	case ToolFinish:
		res = finish(input)
	default:
		names := make([]string, 0, 7)
		for _, s := range Specs() {
			names = append(names, s.Name)
		}
		res = failf("unknown tool %q; the tools are %s", name, strings.Join(names, ", "))
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	return res, nil
}

// withRoot opens the checkout as an os.Root for one call.
func (b *Box) withRoot(tool string, input json.RawMessage, f func(*os.Root, json.RawMessage) Result) Result {
	if b.Root == "" || !filepath.IsAbs(b.Root) {
		return failf("%s: this worker's checkout root %q is not an absolute path", tool, b.Root)
	}
	root, err := os.OpenRoot(b.Root)
	if err != nil {
		return failf("%s: cannot open the checkout: %v", tool, unwrapPath(err))
	}
	defer root.Close()
	return f(root, input)
}

func failf(format string, args ...any) Result {
	return Result{Output: fmt.Sprintf(format, args...), IsError: true}
}

// inputError is a decode failure: a message for the model wrapping the JSON
// error.
type inputError struct {
	msg string
	err error
}

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Unwrap() error { return e.err }

// decode reads the model's JSON arguments into v (a pointer to a struct),
// refusing unknown fields so a misnamed argument is reported, not ignored.
func decode(tool string, input json.RawMessage, v any) error {
	data := bytes.TrimSpace(input)
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("extra data after the JSON object")
	}
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	msg := fmt.Sprintf("%s: invalid input: %v", tool, err)
	switch {
	case errors.As(err, &te) && te.Field != "":
		msg = fmt.Sprintf("%s: field %q must be %s, not %s", tool, te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &te):
		msg = fmt.Sprintf("%s: the input must be a JSON object, not %s", tool, te.Value)
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		msg = fmt.Sprintf("%s: the input is not valid JSON: %v", tool, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		msg = fmt.Sprintf("%s: unknown field %s", tool, strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return &inputError{msg: msg, err: err}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64":
		return "an integer"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	}
	return goKind
}

// inputErr turns a decode error into a Result.
func inputErr(err error) Result { return Result{Output: err.Error(), IsError: true} }

func missing(tool, field string) Result {
	return failf("%s: missing required field %q", tool, field)
}

// pathErr reports a failed path operation with the model's path.
func pathErr(tool, p string, err error) Result {
	if errors.Is(err, errRefused) {
		return failf("%s refused: %s", tool, strings.TrimPrefix(err.Error(), errRefused.Error()+": "))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return failf("%s: %s does not exist", tool, p)
	}
	return failf("%s: %s: %v", tool, p, unwrapPath(err))
}

// path checks and resolves a path the model sent (see cleanPath, resolve).
func (b *Box) path(root *os.Root, p string, followLast bool) (string, error) {
	c, err := cleanPath(p)
	if err != nil {
		return "", err
	}
	return resolve(root, c, followLast)
}

func (b *Box) maxRead() int  { return orDefault(b.MaxReadBytes, DefaultMaxReadBytes) }
func (b *Box) maxWrite() int { return orDefault(b.MaxWriteBytes, DefaultMaxWriteBytes) }
func (b *Box) maxList() int  { return orDefault(b.MaxListEntries, DefaultMaxListEntries) }
func orDefault(v, d int) int {
	if v > 0 {
		return v
	}
	return d
}

// timeouts returns the default and maximum run timeouts.
func (b *Box) timeouts() (def, max time.Duration) {
	def, max = b.DefaultTimeout, b.MaxTimeout
	if def <= 0 {
		def = DefaultRunTimeout
	}
	if max <= 0 {
		max = DefaultMaxRunTimeout
	}
	if def > max {
		def = max
	}
	return def, max
}

// ---- list_files

func (b *Box) listFiles(root *os.Root, input json.RawMessage) Result {
	var in struct {
		Path      *string `json:"path"`
		Recursive bool    `json:"recursive"`
	}
	if err := decode(ToolListFiles, input, &in); err != nil {
		return inputErr(err)
	}
	p := "."
	if in.Path != nil && *in.Path != "" {
		p = *in.Path
	}
	rel, err := b.path(root, p, true)
	if err != nil {
		return pathErr(ToolListFiles, p, err)
	}
	fi, err := root.Stat(rel)
	if err != nil {
		return pathErr(ToolListFiles, p, err)
	}
	if !fi.IsDir() {
		return failf("%s: %s is a file, not a directory; use read_file", ToolListFiles, p)
	}
	fsys := root.FS()
	dir := filepath.ToSlash(rel)
	max := b.maxList()
	var lines []string
	cut := false
	entry := func(name string, d fs.DirEntry) string {
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			if t, err := root.Readlink(filepath.FromSlash(name)); err == nil {
				return name + " -> " + filepath.ToSlash(t)
			}
			return name + " -> ?"
		case d.IsDir():
			return name + "/"
		}
		return name
	}
	if !in.Recursive {
		ents, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return pathErr(ToolListFiles, p, err)
		}
		sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
		for _, d := range ents {
			if isGit(d.Name()) {
				continue
			}
			if len(lines) >= max {
				cut = true
				break
			}
			lines = append(lines, entry(path.Join(dir, d.Name()), d))
		}
	} else {
		err := fs.WalkDir(fsys, dir, func(name string, d fs.DirEntry, err error) error {
			if name == dir {
				return err
			}
			if isGit(d.Name()) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if len(lines) >= max {
				cut = true
				return fs.SkipAll
			}
			if err != nil {
				lines = append(lines, fmt.Sprintf("%s/ [cannot list: %v]", name, unwrapPath(err)))
				return nil
			}
			lines = append(lines, entry(name, d))
			return nil
		})
		if err != nil {
			return pathErr(ToolListFiles, p, err)
		}
	}
	if len(lines) == 0 {
		return Result{Output: "[empty directory]"}
	}
	out := strings.Join(lines, "\n")
	if cut {
		out += fmt.Sprintf("\n[listing cut at %d entries; list a subdirectory to see the rest]", max)
	}
	return Result{Output: out}
}

// ---- read_file

func (b *Box) readFile(root *os.Root, input json.RawMessage) Result {
	var in struct {
		Path   *string `json:"path"`
		Offset int64   `json:"offset"`
		Limit  int64   `json:"limit"`
	}
	if err := decode(ToolReadFile, input, &in); err != nil {
		return inputErr(err)
	}
	if in.Path == nil {
		return missing(ToolReadFile, "path")
	}
	p := *in.Path
	if in.Offset < 0 {
		return failf("%s: offset must not be negative", ToolReadFile)
	}
	if in.Limit < 0 {
		return failf("%s: limit must not be negative", ToolReadFile)
	}
	limit := int64(b.maxRead())
	if in.Limit > 0 && in.Limit < limit {
		limit = in.Limit
	}
	rel, err := b.path(root, p, true)
	if err != nil {
		return pathErr(ToolReadFile, p, err)
	}
	// Stat before opening: opening a FIFO would block.
	fi, err := root.Stat(rel)
	if err != nil {
		return pathErr(ToolReadFile, p, err)
	}
	if fi.IsDir() {
		return failf("%s: %s is a directory; use list_files", ToolReadFile, p)
	}
	if !fi.Mode().IsRegular() {
		return failf("%s: %s is not a regular file", ToolReadFile, p)
	}
	f, err := root.Open(rel)
	if err != nil {
		return pathErr(ToolReadFile, p, err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return pathErr(ToolReadFile, p, err)
	}
	if !fi.Mode().IsRegular() {
		return failf("%s: %s is not a regular file", ToolReadFile, p)
	}
	size := fi.Size()
	head := make([]byte, min(binarySniff, size))
	if _, err := f.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
		return pathErr(ToolReadFile, p, err)
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return failf("%s: %s is a binary file (%d bytes); read_file shows text files only", ToolReadFile, p, size)
	}
	if size == 0 {
		return Result{Output: "[empty file]"}
	}
	if in.Offset > size {
		return failf("%s: offset %d is past the end of %s (%d bytes)", ToolReadFile, in.Offset, p, size)
	}
	buf := make([]byte, min(limit, size-in.Offset))
	n, err := f.ReadAt(buf, in.Offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return pathErr(ToolReadFile, p, err)
	}
	buf = buf[:n]
	end := in.Offset + int64(n)
	if end < size {
		// Do not split a UTF-8 character at the cut; the next read starts on it.
		if t := trimPartialRune(buf); len(t) > 0 {
			buf = t
			end = in.Offset + int64(len(t))
		}
	}
	out := string(buf)
	if end < size {
		if !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += fmt.Sprintf("[cut: bytes %d-%d of %d shown; call read_file with offset=%d to read on]", in.Offset, end, size, end)
	} else if out == "" {
		out = fmt.Sprintf("[nothing after offset %d; the file has %d bytes]", in.Offset, size)
	}
	return Result{Output: out}
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			return b
		}
	}
	return b
}

// ---- write_file

func (b *Box) writeFile(root *os.Root, input json.RawMessage) Result {
	var in struct {
		Path    *string `json:"path"`
		Content *string `json:"content"`
	}
	if err := decode(ToolWriteFile, input, &in); err != nil {
		return inputErr(err)
	}
	if in.Path == nil {
		return missing(ToolWriteFile, "path")
	}
	if in.Content == nil {
		return missing(ToolWriteFile, "content")
	}
	p := *in.Path
	if len(*in.Content) > b.maxWrite() {
		return failf("%s refused: content is %d bytes; one write may be at most %d bytes", ToolWriteFile, len(*in.Content), b.maxWrite())
	}
	rel, err := b.path(root, p, true)
	if err != nil {
		return pathErr(ToolWriteFile, p, err)
	}
	if rel == "." {
		return failf("%s: %s is the checkout's root directory", ToolWriteFile, p)
	}
	created := false
	fi, err := root.Stat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		created = true
		if d := filepath.Dir(rel); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return pathErr(ToolWriteFile, p, fmt.Errorf("creating its directory: %w", unwrapPath(err)))
			}
		}
	case err != nil:
		return pathErr(ToolWriteFile, p, err)
	case fi.IsDir():
		return failf("%s: %s is a directory", ToolWriteFile, p)
	case !fi.Mode().IsRegular():
		return failf("%s: %s is not a regular file", ToolWriteFile, p)
	}
	if err := writeExisting(root, rel, []byte(*in.Content), true); err != nil {
		return pathErr(ToolWriteFile, p, err)
	}
	what := "wrote"
	if created {
		what = "created"
	}
	return Result{
		Output:  fmt.Sprintf("%s %s (%d bytes)", what, filepath.ToSlash(rel), len(*in.Content)),
		Changed: []string{filepath.ToSlash(rel)},
	}
}

// writeExisting writes data to rel, truncating it; an existing file keeps its
// mode, a new one (create) gets 0644.
func writeExisting(root *os.Root, rel string, data []byte, create bool) error {
	flag := os.O_WRONLY | os.O_TRUNC
	if create {
		flag |= os.O_CREATE
	}
	f, err := root.OpenFile(rel, flag, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ---- edit_file

func (b *Box) editFile(root *os.Root, input json.RawMessage) Result {
	var in struct {
		Path      *string `json:"path"`
		OldString *string `json:"old_string"`
		NewString *string `json:"new_string"`
	}
	if err := decode(ToolEditFile, input, &in); err != nil {
		return inputErr(err)
	}
	switch {
	case in.Path == nil:
		return missing(ToolEditFile, "path")
	case in.OldString == nil:
		return missing(ToolEditFile, "old_string")
	case in.NewString == nil:
		return missing(ToolEditFile, "new_string")
	}
	p, old, repl := *in.Path, *in.OldString, *in.NewString
	if old == "" {
		return failf("%s refused: old_string is empty; to write a whole file use write_file", ToolEditFile)
	}
	if old == repl {
		return failf("%s: old_string and new_string are the same; nothing to change", ToolEditFile)
	}
	rel, err := b.path(root, p, true)
	if err != nil {
		return pathErr(ToolEditFile, p, err)
	}
	fi, err := root.Stat(rel)
	if err != nil {
		return pathErr(ToolEditFile, p, err)
	}
	if fi.IsDir() {
		return failf("%s: %s is a directory", ToolEditFile, p)
	}
	if !fi.Mode().IsRegular() {
		return failf("%s: %s is not a regular file", ToolEditFile, p)
	}
	if fi.Size() > int64(b.maxWrite()) {
		return failf("%s refused: %s is %d bytes, larger than the %d-byte write cap", ToolEditFile, p, fi.Size(), b.maxWrite())
	}
	data, err := root.ReadFile(rel)
	if err != nil {
		return pathErr(ToolEditFile, p, err)
	}
	content := string(data)
	switch n := strings.Count(content, old); n {
	case 1:
	case 0:
		return failf("%s: old_string not found in %s (0 occurrences); read the file and copy the text exactly, whitespace included", ToolEditFile, p)
	default:
		return failf("%s: old_string occurs %d times in %s; it must occur exactly once, so include more surrounding text", ToolEditFile, n, p)
	}
	i := strings.Index(content, old)
	updated := content[:i] + repl + content[i+len(old):]
	if len(updated) > b.maxWrite() {
		return failf("%s refused: the edited file would be %d bytes, over the %d-byte write cap", ToolEditFile, len(updated), b.maxWrite())
	}
	if err := writeExisting(root, rel, []byte(updated), false); err != nil {
		return pathErr(ToolEditFile, p, err)
	}
	line := 1 + strings.Count(content[:i], "\n")
	return Result{
		Output:  fmt.Sprintf("edited %s at line %d", filepath.ToSlash(rel), line),
		Changed: []string{filepath.ToSlash(rel)},
	}
}

// ---- delete_file

func (b *Box) deleteFile(root *os.Root, input json.RawMessage) Result {
	var in struct {
		Path *string `json:"path"`
	}
	if err := decode(ToolDeleteFile, input, &in); err != nil {
		return inputErr(err)
	}
	if in.Path == nil {
		return missing(ToolDeleteFile, "path")
	}
	p := *in.Path
	rel, err := b.path(root, p, false)
	if err != nil {
		return pathErr(ToolDeleteFile, p, err)
	}
	if rel == "." {
		return failf("%s refused: %s is the checkout's root directory", ToolDeleteFile, p)
	}
	fi, err := root.Lstat(rel)
	if err != nil {
		return pathErr(ToolDeleteFile, p, err)
	}
	if fi.IsDir() {
		return failf("%s refused: %s is a directory; delete_file deletes files only", ToolDeleteFile, p)
	}
	if err := root.Remove(rel); err != nil {
		return pathErr(ToolDeleteFile, p, err)
	}
	return Result{
		Output:  "deleted " + filepath.ToSlash(rel),
		Changed: []string{filepath.ToSlash(rel)},
	}
}

// ---- run

func (b *Box) run(ctx context.Context, root *os.Root, input json.RawMessage) Result {
	var in struct {
		Argv           []string `json:"argv"`
		Dir            *string  `json:"dir"`
		TimeoutSeconds *int64   `json:"timeout_seconds"`
	}
	if err := decode(ToolRun, input, &in); err != nil {
		return inputErr(err)
	}
	if b.Run == nil {
		return failf("%s refused: no commands on this worker", ToolRun)
	}
	if len(in.Argv) == 0 {
		return missing(ToolRun, "argv")
	}
	if in.Argv[0] == "" {
		return failf("%s: argv[0], the program, is empty", ToolRun)
	}
	if b.Allowed == nil || !b.Allowed(in.Argv) {
		return failf("%s refused: the worker policy does not allow running %q", ToolRun, in.Argv[0])
	}
	d := "."
	if in.Dir != nil && *in.Dir != "" {
		d = *in.Dir
	}
	rel, err := b.path(root, d, true)
	if err != nil {
		return pathErr(ToolRun, d, err)
	}
	fi, err := root.Stat(rel)
	if err != nil {
		return pathErr(ToolRun, d, err)
	}
	if !fi.IsDir() {
		return failf("%s: dir %s is not a directory", ToolRun, d)
	}
	def, max := b.timeouts()
	timeout := def
	note := ""
	if in.TimeoutSeconds != nil {
		switch s := *in.TimeoutSeconds; {
		case s < 0:
			return failf("%s: timeout_seconds must not be negative", ToolRun)
		case s == 0:
		case s > int64(max/time.Second):
			timeout = max
			note = fmt.Sprintf("[timeout capped at %s]\n", max)
		default:
			timeout = time.Duration(s) * time.Second
		}
	}
	out, code, err := b.Run(ctx, in.Argv, filepath.Join(filepath.Clean(b.Root), rel), timeout)
	if err != nil {
		return failf("%s: could not run %q: %v", ToolRun, in.Argv[0], err)
	}
	if out != "" && !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	return Result{Output: note + out + fmt.Sprintf("exit code %d", code)}
}

// ---- finish

func finish(input json.RawMessage) Result {
	var in struct {
		Summary *string `json:"summary"`
	}
	if err := decode(ToolFinish, input, &in); err != nil {
		return inputErr(err)
	}
	if in.Summary == nil {
		return missing(ToolFinish, "summary")
	}
	if strings.TrimSpace(*in.Summary) == "" {
		return failf("%s: summary is empty; say what was done", ToolFinish)
	}
	return Result{Output: "finished", Finished: true, Summary: *in.Summary}
}
