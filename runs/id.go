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

func idByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	return strings.IndexByte("._-:@+=~", b) >= 0
}
