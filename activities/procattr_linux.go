package activities

import "syscall"

// processAttr puts a command in its own process group (so that cancelling
// it stops everything it started) and has the kernel kill it if the worker
// dies first (kill -9, OOM): a node whose worker is gone is retried
// elsewhere, and its old attempt must not go on beside the new one.
func processAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
