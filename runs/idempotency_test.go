package runs

import (
	"errors"
	"strings"
	"testing"
)

func TestIdempotentID(t *testing.T) {
	seen := map[string]string{}
	for _, key := range []string{"order-42", "  order-42  ", "Order-42", "a key with spaces", "ключ", strings.Repeat("k", 129), "maestro-keyh-x"} {
		id, err := IdempotentID(key)
		if err != nil {
			t.Fatalf("IdempotentID(%q): %v", key, err)
		}
		again, _ := IdempotentID(key)
		if again != id {
			t.Errorf("IdempotentID(%q) is not stable: %q then %q", key, id, again)
		}
		if len(id) > 255 || unsafeID.MatchString(id) {
			t.Errorf("IdempotentID(%q) = %q, not a short plain ID", key, id)
		}
		if prev, ok := seen[id]; ok && strings.TrimSpace(prev) != strings.TrimSpace(key) {
			t.Errorf("keys %q and %q share ID %q", prev, key, id)
		}
		seen[id] = key
	}
	if id, _ := IdempotentID("order-42"); id != "maestro-key-order-42" {
		t.Errorf("a plain key stays readable, got %q", id)
	}
	for _, bad := range []string{"", "   ", strings.Repeat("k", 256), "tab\there"} {
		if _, err := IdempotentID(bad); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("IdempotentID(%q): want ErrInvalidRequest, got %v", bad, err)
		}
	}
}

func TestQuoteQueryEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"sdlc-parallel": `'sdlc-parallel'`,
		`it's`:          `'it\'s'`,
		`back\slash`:    `'back\\slash'`,
		`x' OR 'a'='a`:  `'x\' OR \'a\'=\'a'`,
	} {
		if got := quoteQuery(in); got != want {
			t.Errorf("quoteQuery(%q) = %s, want %s", in, got, want)
		}
	}
}
