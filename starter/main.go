// Command starter starts, inspects and controls Maestro pipeline runs: it is
// `maestro` under its original name (`starter start …` is `maestro start …`).
// Run `starter help` for the commands.
package main

import (
	"os"

	"github.com/maestrohq/maestro/internal/cli"
)

func main() { cli.Run(os.Args[1:]) }
