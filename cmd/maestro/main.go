// Command maestro runs all of Maestro on one machine:
//
//	maestro dev [--data-dir dir] [--temporal-listen host:port] [--ui-listen host:port] [--api-listen host:port]
//
// starts an embedded Temporal server persisting to SQLite in the data
// directory, the Temporal Web UI, a worker and the REST API, prints their
// addresses and runs until Ctrl-C. See package devmode.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/maestrohq/maestro/config"
	"github.com/maestrohq/maestro/internal/cli"
	"github.com/maestrohq/maestro/internal/devmode"
)

const usage = `usage: maestro dev [flags]

Runs an embedded Temporal server (SQLite in the data directory), the Temporal
Web UI, a Maestro worker and the REST API in one process.
Run 'maestro dev --help' for the flags.
`

func main() {
	if len(os.Args) < 2 || os.Args[1] != "dev" {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "maestro:", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	opts, err := devmode.ParseOptions(args, config.OSEnv, os.Stderr)
	if err != nil {
		return err
	}
	logger, err := cli.NewLogger(os.Stderr, config.OSEnv, slog.LevelInfo)
	if err != nil {
		return err
	}
	return devmode.Run(ctx, opts, logger, os.Stdout)
}
