// Package artifacts stores the full output of pipeline nodes outside
// Temporal's history, keyed by run (workflow ID) and node ID. History keeps a
// reference and a short summary, so large model outputs never approach
// Temporal's payload limits, and dependents and clients read the content
// from here.
//
// The default store is a local directory (NewDir): one subdirectory per run,
// one file per node. Workers that share it (a volume in compose) see each
// other's artifacts. It knows nothing of Temporal.
package artifacts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxKeyLength caps a workflow ID or node ID used as a key (Temporal's
// workflow IDs used by Maestro are at most 255 bytes).
const MaxKeyLength = 255

// Errors of the store.
var (
	// ErrNotFound means no artifact exists for the run and node.
	ErrNotFound = errors.New("artifact not found")
	// ErrInvalidKey means a workflow ID or node ID cannot be a key.
	ErrInvalidKey = errors.New("invalid artifact key")
)

// Ref refers to one stored artifact. For a Dir it is "<workflow ID>/<node
// ID>"; it is informative (shown in results and listings), not a path.
type Ref string

// String returns the reference as text.
func (r Ref) String() string { return string(r) }

// Info describes one stored artifact.
type Info struct {
	Node    string    `json:"node"`
	Bytes   int64     `json:"bytes"`
	Ref     Ref       `json:"ref"`
	ModTime time.Time `json:"mod_time"`
}

// Store keeps node outputs by workflow ID and node ID. Implementations are
// safe for concurrent use; writing a node's artifact again replaces it (a
// retried attempt overwrites the previous one).
type Store interface {
	// Put stores content as the artifact of nodeID in workflowID.
	Put(ctx context.Context, workflowID, nodeID string, content []byte) (Ref, error)
	// Get returns the artifact's content, or an error wrapping ErrNotFound.
	Get(ctx context.Context, workflowID, nodeID string) ([]byte, error)
	// List describes a run's artifacts sorted by node ID; a run without
	// any has none (no error).
	List(ctx context.Context, workflowID string) ([]Info, error)
}

// Dir is a Store in a local directory: root/<run>/<node>, where run and node
// are the keys encoded as safe file names (see Validate). Writes are atomic
// (a temporary file renamed into place), so a reader never sees a partial
// artifact.
type Dir struct {
	root string
}

// NewDir returns a store rooted at root, which is created on the first Put.
func NewDir(root string) *Dir { return &Dir{root: root} }

// Root returns the store's directory.
func (d *Dir) Root() string { return d.root }

// Put implements Store.
func (d *Dir) Put(ctx context.Context, workflowID, nodeID string, content []byte) (Ref, error) {
	run, node, err := keys(workflowID, nodeID)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dir := filepath.Join(d.root, run)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("artifacts: create run directory: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-"+node+"-*")
	if err != nil {
		return "", fmt.Errorf("artifacts: create temporary file: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(content)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp, filepath.Join(dir, node))
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return "", fmt.Errorf("artifacts: write %s/%s: %w", workflowID, nodeID, werr)
	}
	return ref(workflowID, nodeID), nil
}

// Get implements Store.
func (d *Dir) Get(ctx context.Context, workflowID, nodeID string) ([]byte, error) {
	run, node, err := keys(workflowID, nodeID)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(d.root, run, node))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, workflowID, nodeID)
	}
	if err != nil {
		return nil, fmt.Errorf("artifacts: read %s/%s: %w", workflowID, nodeID, err)
	}
	return b, nil
}

// List implements Store.
func (d *Dir) List(ctx context.Context, workflowID string) ([]Info, error) {
	run, err := encode(workflowID)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(d.root, run))
	if errors.Is(err, fs.ErrNotExist) {
		return []Info{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("artifacts: list %s: %w", workflowID, err)
	}
	out := make([]Info, 0, len(entries))
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue // temporary files start with a dot; encoded keys never do
		}
		node, ok := decode(e.Name())
		if !ok {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, Info{Node: node, Bytes: fi.Size(), Ref: ref(workflowID, node), ModTime: fi.ModTime().UTC()})
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Node, b.Node) })
	return out, nil
}

func ref(workflowID, nodeID string) Ref { return Ref(workflowID + "/" + nodeID) }

// ParseRef splits a reference made by Dir ("<workflow ID>/<node ID>") into
// its keys. A workflow ID may contain "/"; a node ID never does.
func ParseRef(r Ref) (workflowID, nodeID string, ok bool) {
	i := strings.LastIndexByte(string(r), '/')
	if i <= 0 || i == len(r)-1 {
		return "", "", false
	}
	return string(r[:i]), string(r[i+1:]), true
}

func keys(workflowID, nodeID string) (string, string, error) {
	run, err := encode(workflowID)
	if err != nil {
		return "", "", err
	}
	node, err := encode(nodeID)
	if err != nil {
		return "", "", err
	}
	return run, node, nil
}

// Validate reports whether key can be a workflow or node key: non-empty, at
// most MaxKeyLength bytes of valid UTF-8 without control characters, and not
// "." or "..". Any such key is stored under an encoded file name that cannot
// leave the store's directory: letters, digits, '_', '-' and non-leading '.'
// are kept, every other byte becomes %XX (so "/" and a leading "." never
// reach the file system).
func Validate(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	case len(key) > MaxKeyLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidKey, MaxKeyLength)
	case key == "." || key == "..":
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	case strings.ContainsFunc(key, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("%w: contains a control character", ErrInvalidKey)
	}
	return nil
}

const hexDigits = "0123456789ABCDEF"

func encode(key string) (string, error) {
	if err := Validate(key); err != nil {
		return "", err
	}
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String(), nil
}

func decode(name string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] != '%' {
			b.WriteByte(name[i])
			continue
		}
		if i+2 >= len(name) {
			return "", false
		}
		hi, lo := strings.IndexByte(hexDigits, name[i+1]), strings.IndexByte(hexDigits, name[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), true
}
