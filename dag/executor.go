package dag

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// ExecutorSpec is the configuration of one executor kind: the fields that
// stand beside "kind" in a node's executor object. Each kind has its own spec
// type (NoopSpec, CommandSpec, ...), in its own file, registered in kinds.
type ExecutorSpec interface {
	// Kind returns the kind's name, e.g. "command".
	Kind() string
	// Validate returns every problem of the spec, each naming its field
	// without the "executor." prefix.
	Validate() []Problem
}

// Gate is implemented by the specs of kinds that run no activity: the
// workflow itself decides the node (an approval waits for a person).
type Gate interface {
	ExecutorSpec
	// Gate reports whether nodes of the kind are decided by the workflow.
	Gate() bool
}

// fieldApplier is implemented by specs holding a field whose use depends on
// another of their settings (an agent's argv applies only to the command
// provider). A field it refuses is reported as not applying to the kind.
type fieldApplier interface {
	applies(field string) bool
}

// Executor selects and configures what runs a node: its kind and that kind's
// spec. In JSON and YAML it is one flat object, the spec's fields beside
// "kind".
type Executor struct {
	// Kind is one of Kinds.
	Kind string
	// Spec is the kind's configuration; its type belongs to Kind (e.g.
	// *CommandSpec for "command"). It is nil for an unknown kind; nil for a
	// known kind means the kind's defaults.
	Spec ExecutorSpec
	// Foreign holds the fields of other kinds that were set beside Kind, as
	// given. Validation reports each as not applying to Kind; they are kept
	// so that a pipeline round-trips as it was written.
	Foreign map[string]json.RawMessage
}

// NewExecutor returns an executor of spec's kind.
func NewExecutor(spec ExecutorSpec) Executor {
	return Executor{Kind: spec.Kind(), Spec: spec}
}

// Resolve returns the executor's spec: Spec, or the defaults of Kind when
// Spec is nil, or nil when Kind is not a registered kind.
func (e Executor) Resolve() ExecutorSpec {
	if e.Spec != nil {
		return e.Spec
	}
	if k, ok := kindsByName[e.Kind]; ok {
		return k.new()
	}
	return nil
}

// Gate reports whether the executor's kind runs no activity (see Gate).
func (e Executor) Gate() bool {
	g, ok := e.Resolve().(Gate)
	return ok && g.Gate()
}

// standalone is implemented by the specs of kinds whose nodes use nothing
// of their run but the node itself.
type standalone interface {
	standalone() bool
}

// Standalone reports whether the executor's nodes use nothing of their run
// but the node itself — no dependency outputs, params or pipeline name — so
// that the workflow can hand their activity the node alone and keep history
// small (noop).
func (e Executor) Standalone() bool {
	s, ok := e.Resolve().(standalone)
	return ok && s.standalone()
}

// TextBytes returns the length of the text e's settings hold that grows
// with what a pipeline's author writes: its templates (prompts, url,
// headers, body) and a command's argv and env. The workflow counts it to
// bound what one workflow task schedules, so it must not change for a
// given pipeline (see workflows.versionBatchStarts).
func (e Executor) TextBytes() int {
	n := 0
	spec := e.Resolve()
	if t, ok := spec.(templated); ok {
		for _, text := range t.templates() {
			n += len(text)
		}
	}
	if c, ok := spec.(*CommandSpec); ok {
		for _, a := range c.Argv {
			n += len(a)
		}
		for k, v := range c.Env {
			n += len(k) + len(v)
		}
	}
	return n
}

// SpecOf returns e's spec as T (e.g. *CommandSpec), with the kind's
// defaults when e has no spec, and false when e's spec is not a T.
func SpecOf[T ExecutorSpec](e Executor) (T, bool) {
	s, ok := e.Resolve().(T)
	return s, ok
}

// kind is one registered executor kind.
type kind struct {
	name   string
	new    func() ExecutorSpec
	fields []specField
}

// specField is one JSON field of a spec type.
type specField struct {
	name  string
	index []int
	typ   reflect.Type
}

// kinds registers every executor kind, in the order Kinds lists them. Adding
// a kind is its spec type in its own file and one line here.
var kinds = register(
	func() ExecutorSpec { return new(NoopSpec) },
	func() ExecutorSpec { return new(CommandSpec) },
	func() ExecutorSpec { return new(HTTPSpec) },
	func() ExecutorSpec { return new(AgentSpec) },
	func() ExecutorSpec { return new(ApprovalSpec) },
)

// Kinds lists the executor kinds a node may use.
var Kinds = kindNames(kinds)

// kindsByName indexes kinds.
var kindsByName = indexKinds(kinds)

// fieldOwners maps every executor field to the first kind that has it.
var fieldOwners = indexFields(kinds)

func register(constructors ...func() ExecutorSpec) []kind {
	out := make([]kind, 0, len(constructors))
	for _, c := range constructors {
		spec := c()
		out = append(out, kind{name: spec.Kind(), new: c, fields: specFields(reflect.TypeOf(spec).Elem(), nil)})
	}
	return out
}

func kindNames(ks []kind) []string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.name
	}
	return names
}

func indexKinds(ks []kind) map[string]kind {
	m := make(map[string]kind, len(ks))
	for _, k := range ks {
		if _, dup := m[k.name]; dup {
			panic(fmt.Sprintf("dag: executor kind %q registered twice", k.name))
		}
		m[k.name] = k
	}
	return m
}

func indexFields(ks []kind) map[string]specField {
	m := map[string]specField{}
	for _, k := range ks {
		for _, f := range k.fields {
			if f.name == "kind" {
				panic(fmt.Sprintf("dag: executor kind %q has a field named kind", k.name))
			}
			if prev, ok := m[f.name]; !ok {
				m[f.name] = f
			} else if prev.typ != f.typ {
				panic(fmt.Sprintf("dag: executor field %q has two types (%s, %s)", f.name, prev.typ, f.typ))
			}
		}
	}
	return m
}

// specFields lists the JSON fields of a spec struct, descending into
// embedded structs as encoding/json does.
func specFields(t reflect.Type, index []int) []specField {
	var out []specField
	for i := range t.NumField() {
		sf := t.Field(i)
		idx := append(slices.Clone(index), i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			out = append(out, specFields(sf.Type, idx)...)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, specField{name: name, index: idx, typ: sf.Type})
	}
	return out
}

// isSet reports whether v holds a value: a non-empty list or map, or any
// other non-zero value.
func isSet(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() > 0
	}
	return !v.IsZero()
}

// setFields returns the fields of spec that hold a value.
func (k kind) setFields(spec ExecutorSpec) []string {
	v := reflect.ValueOf(spec)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil
	}
	v = v.Elem()
	var out []string
	for _, f := range k.fields {
		if isSet(v.FieldByIndex(f.index)) {
			out = append(out, f.name)
		}
	}
	return out
}

// owns reports whether the kind has the named field.
func (k kind) owns(name string) bool {
	return slices.ContainsFunc(k.fields, func(f specField) bool { return f.name == name })
}

// MarshalJSON writes the executor as one flat object: kind, the spec's
// fields, then the foreign fields.
func (e Executor) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	kindJSON, err := json.Marshal(e.Kind)
	if err != nil {
		return nil, fmt.Errorf("executor kind: %w", err)
	}
	b.WriteString(`{"kind":`)
	b.Write(kindJSON)
	own := map[string]bool{}
	if e.Spec != nil {
		spec, err := json.Marshal(e.Spec)
		if err != nil {
			return nil, fmt.Errorf("executor %s: %w", e.Kind, err)
		}
		spec = bytes.TrimSpace(spec)
		if len(spec) < 2 || spec[0] != '{' {
			return nil, fmt.Errorf("executor %s: the spec is not a JSON object", e.Kind)
		}
		if inner := bytes.TrimSpace(spec[1 : len(spec)-1]); len(inner) > 0 {
			b.WriteByte(',')
			b.Write(inner)
		}
		if k, ok := kindsByName[e.Spec.Kind()]; ok {
			for _, f := range k.fields {
				own[f.name] = true
			}
		}
	}
	for _, name := range sortedKeys(e.Foreign) {
		if own[name] || name == "kind" {
			continue
		}
		key, _ := json.Marshal(name)
		b.WriteByte(',')
		b.Write(key)
		b.WriteByte(':')
		val := e.Foreign[name]
		if len(bytes.TrimSpace(val)) == 0 {
			val = json.RawMessage("null")
		}
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a flat executor object: "kind" selects the spec type,
// which receives its fields. A field no kind has is an error; fields of
// other kinds are type-checked and kept in Foreign when they hold a value.
// Errors are those that decoding into one struct with every kind's fields
// would give (see innerError for their offsets); unlike that struct's, they
// end the decoding at once, as every Unmarshaler's do.
func (e *Executor) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		off := int64(len(data))
		if ok && d == '[' {
			off = 1
		}
		return &json.UnmarshalTypeError{Value: jsonKind(tok), Type: reflect.TypeFor[Executor](), Offset: off}
	}
	// Each field's value, decoded occurrence by occurrence as
	// encoding/json does (a repeated key overwrites, or merges a map).
	vals := map[string]reflect.Value{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("executor: %w", err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("executor.%s: %w", name, err)
		}
		start := dec.InputOffset() - int64(len(raw))
		typ := reflect.TypeFor[string]()
		if name != "kind" {
			f, known := fieldOwners[name]
			if !known {
				return fmt.Errorf("unknown field %q", name)
			}
			typ = f.typ
		}
		v, ok := vals[name]
		if !ok {
			v = reflect.New(typ)
			vals[name] = v
		}
		if err := json.Unmarshal(raw, v.Interface()); err != nil {
			return innerError(err, name, start)
		}
	}
	var out Executor
	if v, ok := vals["kind"]; ok {
		out.Kind = v.Elem().String()
	}
	k, known := kindsByName[out.Kind]
	if known {
		out.Spec = k.new()
		if err := json.Unmarshal(data, out.Spec); err != nil {
			return innerError(err, "", 0)
		}
	}
	for _, name := range sortedKeys(vals) {
		if name == "kind" || (known && k.owns(name)) || !isSet(vals[name].Elem()) {
			continue
		}
		raw, err := json.Marshal(vals[name].Interface())
		if err != nil {
			return fmt.Errorf("executor.%s: %w", name, err)
		}
		if out.Foreign == nil {
			out.Foreign = map[string]json.RawMessage{}
		}
		out.Foreign[name] = raw
	}
	*e = out
	return nil
}

// jsonKind names a JSON token's type as encoding/json's errors do.
func jsonKind(tok json.Token) string {
	switch tok.(type) {
	case json.Delim:
		if tok == json.Delim('[') {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case float64, json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return "null"
}

// innerError prepares an error met inside an executor object for the
// decoder around it: a type error names its field (the decoder prefixes the
// path to the executor), and its offset, met in a value starting at byte
// start of the executor, counts from the executor's first byte (the decoder
// does not say where the executor starts; Parse does not decode through
// UnmarshalJSON and gives exact positions, see wirePipeline).
func innerError(err error, field string, start int64) error {
	te, ok := err.(*json.UnmarshalTypeError)
	if !ok {
		return err
	}
	cp := *te
	cp.Offset += start
	if field != "" {
		if cp.Field != "" {
			field += "." + cp.Field
		}
		cp.Field = field
		return &cp
	}
	// Drop the Go names of embedded structs ("Process.argv").
	parts := strings.Split(cp.Field, ".")
	for len(parts) > 1 {
		if _, ok := fieldOwners[parts[0]]; ok {
			break
		}
		parts = parts[1:]
	}
	cp.Field = strings.Join(parts, ".")
	return &cp
}
