// Command worker runs Maestro's pipeline workflow and node activities on a
// Temporal task queue: it is `maestro worker`, and takes the same flags
// (run `worker --help`). It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"os"

	"github.com/maestrohq/maestro/internal/cli"
)

func main() { cli.Run(append([]string{"worker"}, os.Args[1:]...)) }
