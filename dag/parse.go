package dag

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// MaxDefinitionBytes caps the size of a pipeline definition: Temporal's
// payload limit (2 MiB), which the run's input must fit in.
const MaxDefinitionBytes = 2 << 20

// MaxYAMLBytes caps a definition in YAML: its decoder builds a node tree that
// can take a hundred times the document's size (a 3.7 MB document of small
// mappings took ~300 MB), so larger pipelines are sent as JSON.
const MaxYAMLBytes = 1 << 20

// ErrSyntax marks a definition that is not well-formed JSON or YAML, or that
// names fields the schema does not have.
var ErrSyntax = errors.New("malformed pipeline definition")

// Parse reads a pipeline from JSON or YAML (JSON is YAML, but a document
// starting with '{' is read as JSON for exact error positions). Unknown fields
// are errors so that typos do not pass silently. Parse does not validate.
func Parse(data []byte) (*Pipeline, error) {
	if len(data) > MaxDefinitionBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrSyntax, MaxDefinitionBytes)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("%w: empty document", ErrSyntax)
	}
	if trimmed[0] == '{' {
		// Offsets in JSON errors count from the first non-blank byte.
		lead := len(data) - len(bytes.TrimLeftFunc(data, unicode.IsSpace))
		return decodeJSON(trimmed, data, lead)
	}
	if len(trimmed) > MaxYAMLBytes {
		return nil, fmt.Errorf("%w: a YAML definition is limited to %d bytes (got %d); send larger pipelines as JSON", ErrSyntax, MaxYAMLBytes, len(trimmed))
	}
	doc, err := decodeYAML(trimmed)
	if err != nil {
		return nil, err
	}
	j, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSyntax, strings.TrimPrefix(err.Error(), "json: "))
	}
	// Positions in j mean nothing to the author of the YAML; leave them out.
	return decodeJSON(j, nil, 0)
}

// decodeYAML reads exactly one YAML document holding a mapping, with every
// mapping key turned into a string so that the document can be re-encoded as
// JSON.
func decodeYAML(data []byte) (map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	// Parse into nodes first: the YAML decoder checks a mapping's keys for
	// duplicates pair by pair, so a mapping of n keys costs n² — a 1 MB
	// document of one 43,000-key mapping took 6.5 s of CPU. Mappings are
	// capped before anything is decoded.
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrSyntax)
		}
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if err := checkMappings(&root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	if size := expandedSize(&root, map[*yaml.Node]int{}); size > MaxDefinitionBytes {
		return nil, fmt.Errorf("%w: with its aliases expanded the document holds about %d bytes, over the limit of %d; repeat less through anchors (&) and aliases (*)", ErrSyntax, size, MaxDefinitionBytes)
	}
	var doc any
	if err := root.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	// Like trailing data after a JSON object, a second document is an error
	// rather than silently ignored. Empty documents (a final "---") are fine.
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
		}
		if !emptyDocument(&extra) {
			return nil, fmt.Errorf("%w: unexpected second YAML document; a definition holds one pipeline", ErrSyntax)
		}
	}
	norm, err := stringKeys(doc, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
	}
	m, ok := norm.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: the document must be a mapping with name and nodes", ErrSyntax)
	}
	return m, nil
}

// MaxYAMLMappingKeys caps the keys of one YAML mapping (params, env,
// headers, ...); see checkMappings.
const MaxYAMLMappingKeys = 1000

// checkMappings refuses a document with a mapping of more than
// MaxYAMLMappingKeys keys, naming the line it starts on.
func checkMappings(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode && len(n.Content)/2 > MaxYAMLMappingKeys {
		return fmt.Errorf("line %d: a mapping of %d keys exceeds the limit of %d", n.Line, len(n.Content)/2, MaxYAMLMappingKeys)
	}
	for _, c := range n.Content {
		if err := checkMappings(c); err != nil {
			return err
		}
	}
	return nil
}

// expandedSize is about the number of bytes n holds with every alias
// expanded, as decoding it would build (the yaml package's own guard against
// aliasing only counts aliases, so a few hundred aliases of a large string
// passed, and a 300 KB document decoded to gigabytes). Each node's size is
// computed once (seen), so the walk is linear in the document; sizes stop
// growing past MaxDefinitionBytes.
func expandedSize(n *yaml.Node, seen map[*yaml.Node]int) int {
	if n == nil {
		return 0
	}
	if size, ok := seen[n]; ok {
		return size
	}
	seen[n] = 0 // an alias cycle counts nothing (the decoder refuses it)
	size := len(n.Value) + 1
	if n.Kind == yaml.AliasNode {
		size = expandedSize(n.Alias, seen)
	}
	for _, c := range n.Content {
		size = min(size+expandedSize(c, seen), MaxDefinitionBytes+1)
	}
	seen[n] = size
	return size
}

// emptyDocument reports whether a YAML document holds nothing (a final
// "---").
func emptyDocument(n *yaml.Node) bool {
	if n.Kind == 0 {
		return true
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		c := n.Content[0]
		return c.Kind == yaml.ScalarNode && c.Tag == "!!null"
	}
	return n.Kind == yaml.DocumentNode && len(n.Content) == 0
}

// stringKeys returns v with every map[any]any (a YAML mapping with a key that
// is not a string, e.g. "1: x" under params or env) turned into a
// map[string]any. Scalar keys become their text; other keys are errors.
func stringKeys(v any, path string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			n, err := stringKeys(e, joinPath(path, k))
			if err != nil {
				return nil, err
			}
			v[k] = n
		}
		return v, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			var key string
			switch k := k.(type) {
			case string:
				key = k
			case int, int64, uint64, float64, bool:
				key = fmt.Sprint(k)
			default:
				return nil, fmt.Errorf("%s: mapping key %v is not a string", joinPath(path, "(key)"), k)
			}
			if _, dup := out[key]; dup {
				return nil, fmt.Errorf("%s: mapping key %q is defined twice", joinPath(path, key), key)
			}
			n, err := stringKeys(e, joinPath(path, key))
			if err != nil {
				return nil, err
			}
			out[key] = n
		}
		return out, nil
	case []any:
		for i, e := range v {
			n, err := stringKeys(e, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
		return v, nil
	}
	return v, nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodeJSON decodes one pipeline object. When src is not nil, data is
// src[lead:] and errors carry a line and column in src.
func decodeJSON(data, src []byte, lead int) (*Pipeline, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	wire := reflect.New(wirePipeline)
	if err := dec.Decode(wire.Interface()); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSyntax, describeJSONError(err, src, lead))
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: unexpected data after the pipeline object%s", ErrSyntax,
			position(src, lead+int(dec.InputOffset())))
	}
	j, err := json.Marshal(wire.Interface())
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSyntax, strings.TrimPrefix(err.Error(), "json: "))
	}
	var p Pipeline
	if err := json.Unmarshal(j, &p); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrSyntax, strings.TrimPrefix(err.Error(), "json: "))
	}
	return &p, nil
}

// wirePipeline is the type Parse decodes a definition into: Pipeline with
// each node's executor one flat struct of kind and every registered kind's
// fields, as the schema reads. Decoding into it reports unknown fields and
// type errors, their order and their positions, as for any Go struct; the
// result is then re-read as a Pipeline, whose executors take their kind's
// fields.
var wirePipeline = withFieldType(reflect.TypeFor[Pipeline](), "Nodes",
	reflect.SliceOf(withFieldType(reflect.TypeFor[Node](), "Executor", flatExecutor())))

// flatExecutor returns a struct type with kind and every executor field.
func flatExecutor() reflect.Type {
	fields := []reflect.StructField{{Name: "Kind", Type: reflect.TypeFor[string](), Tag: `json:"kind"`}}
	seen := map[string]bool{}
	for _, k := range kinds {
		for _, f := range k.fields {
			if seen[f.name] {
				continue
			}
			seen[f.name] = true
			fields = append(fields, reflect.StructField{
				Name: fmt.Sprintf("F%d", len(fields)),
				Type: f.typ,
				Tag:  reflect.StructTag(fmt.Sprintf(`json:%q`, f.name+",omitempty")),
			})
		}
	}
	return reflect.StructOf(fields)
}

// withFieldType returns struct type t with the named field's type replaced.
func withFieldType(t reflect.Type, name string, ft reflect.Type) reflect.Type {
	fields := make([]reflect.StructField, t.NumField())
	for i := range fields {
		fields[i] = t.Field(i)
		fields[i].Index = nil
		fields[i].Offset = 0
		if fields[i].Name == name {
			fields[i].Type = ft
		}
	}
	return reflect.StructOf(fields)
}

func describeJSONError(err error, src []byte, lead int) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "(document)"
		}
		where := ""
		if typeErr.Offset > 0 { // zero: met inside an executor (see innerError)
			where = position(src, lead+int(typeErr.Offset)-1)
		}
		return fmt.Sprintf("%s: expected %s, got %s%s", field, describeType(typeErr.Type), typeErr.Value, where)
	}
	var synErr *json.SyntaxError
	if errors.As(err, &synErr) {
		return strings.TrimPrefix(err.Error(), "json: ") + position(src, lead+int(synErr.Offset)-1)
	}
	msg := err.Error()
	return strings.TrimPrefix(msg, "json: ")
}

var durationType = reflect.TypeFor[Duration]()

// describeType names a Go type in the schema's terms ("expected a list", not
// "expected []string").
func describeType(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return `a duration string (e.g. "30s")`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// position returns " (line L, column C)" for byte offset off of src, or ""
// when src is nil or off is out of range.
func position(src []byte, off int) string {
	if src == nil || off < 0 || off > len(src) {
		return ""
	}
	before := src[:off]
	line := 1 + bytes.Count(before, []byte{'\n'})
	col := off - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf(" (line %d, column %d)", line, col)
}

// ErrNotRegularFile marks a pipeline path that is not a regular file (a
// FIFO, a device, a directory).
var ErrNotRegularFile = errors.New("not a regular file")

// ParseFile reads and parses a pipeline file: a regular file (a FIFO or a
// device would block or never end), read as far as MaxDefinitionBytes.
func ParseFile(path string) (*Pipeline, error) {
	// Stat before opening: opening a FIFO blocks until a writer comes.
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("read pipeline: %s: %w", path, ErrNotRegularFile)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	defer f.Close()
	return ParseReader(f, path)
}

// ParseReader reads a pipeline from r and parses it; name says where it
// comes from in errors. More than MaxDefinitionBytes is refused after
// reading one byte past the limit, not after reading it all.
func ParseReader(r io.Reader, name string) (*Pipeline, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxDefinitionBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	if len(data) > MaxDefinitionBytes {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", name, ErrSyntax, MaxDefinitionBytes)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}
