// Command starter starts, inspects and controls Maestro pipeline runs, and
// validates pipeline files without running them. Run `starter help` for the
// commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/maestrohq/maestro/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, config.OSEnv)
	stop()
	os.Exit(code)
}
