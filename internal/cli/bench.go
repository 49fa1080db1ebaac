package cli

import (
	"context"
	"time"

	"github.com/maestrohq/maestro/bench"
)

// benchTimeout bounds `maestro bench` as a whole.
const benchTimeout = time.Hour

// cmdBench measures Maestro side by side with a plain Temporal workflow on
// its own embedded server and prints the Markdown of docs/BENCHMARKS.md.
func cmdBench(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("bench")
	quick := fs.Bool("quick", false, "every measurement at a small size, in well under a minute: a check of the setup, not figures to publish")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, benchTimeout)
	defer cancel()
	return bench.Run(ctx, bench.RunOptions{Quick: *quick, Log: a.stderr}, a.stdout)
}
