package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/maestrohq/maestro/artifacts"
	"github.com/maestrohq/maestro/config"
)

// cmdArtifacts lists a run's artifacts, prints one, or saves them all. It
// reads the artifact directory (MAESTRO_ARTIFACT_DIR) directly, so it runs
// where that directory is: beside `maestro dev`, or on the shared volume.
func cmdArtifacts(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("artifacts")
	cfg, err := config.Load(a.env)
	if err != nil {
		return err
	}
	dir := fs.String("dir", cfg.ArtifactDir, "artifact `dir`ectory (env "+config.EnvArtifactDir+")")
	out := fs.String("out", "", "save the artifacts (every one, or the node's) as `dir`/<node>.txt instead of printing them")
	asJSON := fs.Bool("json", false, "print the list as JSON")
	// The node is optional.
	pos, err := parse(fs, args, "workflow-id", "node")
	if ue, ok := err.(usageError); ok && strings.HasSuffix(ue.msg, "missing node") {
		pos, err = parse(fs, args, "workflow-id")
	}
	if err != nil {
		return err
	}
	store := artifacts.NewDir(*dir)
	// save writes node's artifact as *out/<node>.txt and prints the path.
	save := func(node string) error {
		data, err := store.Get(ctx, pos[0], node)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		path := filepath.Join(*out, node+".txt")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s\n", path)
		return nil
	}
	if len(pos) == 2 {
		if *out != "" {
			return save(pos[1])
		}
		data, err := store.Get(ctx, pos[0], pos[1])
		if err != nil {
			return err
		}
		_, err = a.stdout.Write(data)
		return err
	}
	list, err := store.List(ctx, pos[0])
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("no artifacts for %s in %s", pos[0], *dir)
	}
	if *out != "" {
		for _, info := range list {
			if err := save(info.Node); err != nil {
				return err
			}
		}
		return nil
	}
	if *asJSON {
		return writeJSON(a.stdout, list)
	}
	tw := newTable(a.stdout)
	fmt.Fprintln(tw, "NODE\tBYTES\tWRITTEN")
	for _, info := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", info.Node, info.Bytes, fmtTime(info.ModTime))
	}
	return tw.Flush()
}
