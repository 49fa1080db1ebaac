//go:build !linux

package procrecord

import "log/slog"

// Write records nothing outside Linux; remove does nothing.
func Write(dir string, r Record) (remove func() error, err error) {
	return func() error { return nil }, nil
}

// Cleanup does nothing outside Linux.
func Cleanup(dir string, logger *slog.Logger) error {
	return nil
}

// KillTagged kills nothing outside Linux.
func KillTagged(token string) int {
	return 0
}
