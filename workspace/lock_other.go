//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package workspace

import (
	"os"
	"os/exec"
)

// tryLockFile is the fallback where flock is unavailable: it always succeeds,
// so mirrors are only serialized within one process and Sweep cannot tell a
// live checkout of another process from a stale one (do not share Dir between
// processes on such systems).
func tryLockFile(f *os.File) (bool, error) { return true, nil }

// setProcessGroup is a no-op where process groups are not used;
// exec.CommandContext kills git itself.
func setProcessGroup(cmd *exec.Cmd) {}
