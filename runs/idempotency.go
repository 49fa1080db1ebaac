package runs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// MaxIdempotencyKeyLength caps an idempotency key.
const MaxIdempotencyKeyLength = 255

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// IdempotentID returns the workflow ID that a client's idempotency key stands
// for. The same key always gives the same ID, and Start never starts a second
// run with an ID in use, so a request retried with the same key (even many
// times at once) gets the same run. A short key of letters, digits, '_', '.'
// and '-' (without "..") is kept readable in the ID; any other key is hashed,
// so that the ID always passes ValidateID. An empty or
// oversized key, or one with control characters, is ErrInvalidRequest.
func IdempotentID(key string) (string, error) {
	key = strings.TrimSpace(key)
	switch {
	case key == "":
		return "", fmt.Errorf("%w: idempotency key is empty", ErrInvalidRequest)
	case len(key) > MaxIdempotencyKeyLength:
		return "", fmt.Errorf("%w: idempotency key is longer than %d bytes", ErrInvalidRequest, MaxIdempotencyKeyLength)
	case strings.ContainsFunc(key, unicode.IsControl):
		return "", fmt.Errorf("%w: idempotency key must not contain control characters", ErrInvalidRequest)
	}
	if plainKey.MatchString(key) && !strings.Contains(key, "..") {
		return "maestro-key-" + key, nil
	}
	sum := sha256.Sum256([]byte(key))
	return "maestro-keyh-" + hex.EncodeToString(sum[:16]), nil
}
