// Command maestro is Maestro's one binary: `maestro dev` runs everything on
// one machine, `maestro worker` and `maestro api` are the production
// processes, and the other commands start, inspect and control runs. Run
// `maestro help` for the commands.
package main

import (
	"os"

	"github.com/maestrohq/maestro/internal/cli"
)

func main() { cli.Run(os.Args[1:]) }
