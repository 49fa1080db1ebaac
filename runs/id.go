package runs

import (
	"fmt"
	"strings"
)

// MaxIDLength caps a run (workflow) ID, in bytes.
const MaxIDLength = 255

// FieldError is a request error about one field (or header, or path
// parameter): Field names it, Message says what is wrong, Allowed lists the
// accepted values when there are few. It wraps Err, ErrInvalidRequest unless
// set otherwise (templates.ErrUnknown for an unknown workflow_type), so that
// errors.Is classifies it like the error it stands for.
type FieldError struct {
	Field   string
	Message string
	Allowed []string
	Err     error
}

// Error returns "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap returns the error kind, ErrInvalidRequest by default.
func (e *FieldError) Unwrap() error {
	if e.Err == nil {
		return ErrInvalidRequest
	}
	return e.Err
}

// ValidateID checks a run ID given by a client: in a start request's id field,
// or in a URL (field names where it came from, for the error). An ID is 1 to
// MaxIDLength bytes of ASCII letters, digits and the characters . _ - : @ + = ~,
// does not start with '.', and does not contain "..": it must stay a single,
// plain path segment both in the API's URLs and as the key of a run's
// artifacts. Anything else is a *FieldError wrapping ErrInvalidRequest.
func ValidateID(field, id string) error {
	bad := func(format string, args ...any) error {
		return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	switch {
	case id == "":
		return bad("a run ID must not be empty")
	case len(id) > MaxIDLength:
		return bad("a run ID is at most %d bytes, got %d", MaxIDLength, len(id))
	case id[0] == '.':
		return bad("a run ID must not start with '.', got %q", id)
	case strings.Contains(id, ".."):
		return bad("a run ID must not contain \"..\", got %q", id)
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		switch {
		case b < 0x20 || b >= 0x7f:
			return bad("a run ID may hold only ASCII letters, digits and . _ - : @ + = ~; it has a control or non-ASCII byte 0x%02x at offset %d", b, i)
		case !idByte(b):
			return bad("a run ID may hold only ASCII letters, digits and . _ - : @ + = ~; %q has %q at offset %d", id, string(b), i)
		}
	}
	return nil
}

// MaxLookupIDLength is the longest ID a lookup accepts: Temporal's own limit
// on workflow IDs.
const MaxLookupIDLength = 1000

// checkLookupID checks the ID of a run to look up (status, control, watch):
// it must be possible to send, not necessarily one ValidateID would accept
// for a new run, so that runs started before these rules, or by other
// clients (the temporal CLI), stay readable and controllable. It refuses
// an empty ID, one longer than Temporal allows, one with control or
// non-ASCII bytes, and one with '/' or '%' (an escaped path), as a
// *FieldError wrapping ErrInvalidRequest.
func checkLookupID(field, id string) error {
	switch {
	case id == "":
		return &FieldError{Field: field, Message: "a run ID must not be empty"}
	case len(id) > MaxLookupIDLength:
		return &FieldError{Field: field, Message: fmt.Sprintf("a run ID is at most %d bytes, got %d", MaxLookupIDLength, len(id))}
	}
	for i := 0; i < len(id); i++ {
		if b := id[i]; b < 0x20 || b >= 0x7f {
			return &FieldError{Field: field, Message: fmt.Sprintf("a run ID holds printable ASCII only; it has a control or non-ASCII byte 0x%02x at offset %d", b, i)}
		}
	}
	if strings.ContainsAny(id, "/%") {
		// No run can be started with either, and a URL cannot carry '/'.
		return &FieldError{Field: field, Message: fmt.Sprintf("a run ID has no '/' or '%%', got %q", id)}
	}
	return nil
}

func idByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("._-:@+=~", b) >= 0
}
