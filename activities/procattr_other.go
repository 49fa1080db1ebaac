//go:build !linux

package activities

import "syscall"

// processAttr puts a command in its own process group, so that cancelling it
// stops everything it started. (Only Linux can also have the kernel kill it
// when the worker dies.)
func processAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
