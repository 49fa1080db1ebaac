package codetools

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxSymlinkHops bounds how many symlinks one path may go through.
const maxSymlinkHops = 40

// errRefused marks a path the tools will not touch (as opposed to one that
// merely does not exist).
var errRefused = errors.New("refused")

// refusedf returns an error wrapping errRefused with a message for the model.
func refusedf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errRefused}, args...)...)
}

// cleanPath checks a path the model sent and returns it cleaned, with OS
// separators, relative to the checkout ("." for the checkout itself). Slash
// and OS separators are both accepted. Absolute paths, paths that climb out
// with "..", NUL bytes and any component named .git are refused.
func cleanPath(p string) (string, error) {
	if p == "" {
		return "", refusedf("empty path")
	}
	if strings.IndexByte(p, 0) >= 0 {
		return "", refusedf("path %q contains a NUL byte", p)
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`) || filepath.IsAbs(p) || filepath.VolumeName(p) != "" {
		return "", refusedf("path %q is absolute; paths are relative to the checkout", p)
	}
	c := filepath.Clean(filepath.FromSlash(p))
	if c != "." && !filepath.IsLocal(c) {
		return "", refusedf("path %q leads outside the checkout", p)
	}
	if hasGit(c) {
		return "", refusedf("path %q is inside .git; the repository's metadata is off limits", p)
	}
	return c, nil
}

// hasGit reports whether any component of p (OS separators) is .git, in any
// letter case (case-insensitive file systems would treat .GIT as .git).
func hasGit(p string) bool {
	for _, c := range splitPath(p) {
		if isGit(c) {
			return true
		}
	}
	return false
}

func isGit(name string) bool { return strings.EqualFold(name, ".git") }

// splitPath splits p at OS separators (and at slashes), dropping empty and
// "." components.
func splitPath(p string) []string {
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == filepath.Separator })
	out := parts[:0]
	for _, s := range parts {
		if s != "." {
			out = append(out, s)
		}
	}
	return out
}

// resolve follows the symlinks in rel (a path from cleanPath) inside the
// checkout and returns the real path it names, relative to the checkout ("."
// for the checkout). Symlinks in directories are always followed; the last
// element is followed only when followLast is set (delete_file removes a link
// itself). A link that is absolute, climbs out of the checkout, or leads into
// .git is refused, so the path handed to os.Root (which enforces confinement
// again, race-free) has no symlinks left in it and its .git check holds.
// Components that do not exist yet are kept as given.
func resolve(root *os.Root, rel string, followLast bool) (string, error) {
	rest := splitPath(rel)
	done := "" // resolved, symlink-free, relative to the checkout
	hops := 0
	missing := false // a component of done does not exist
	via := ""        // the last symlink followed, for messages
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		if c == ".." {
			if done == "" {
				return "", refusedf("%s is a symlink that leads outside the checkout", via)
			}
			if missing {
				return "", fmt.Errorf("%s: %w", filepath.Join(done, ".."), fs.ErrNotExist)
			}
			done = parent(done)
			continue
		}
		if isGit(c) {
			return "", refusedf("%s is a symlink into .git; the repository's metadata is off limits", via)
		}
		next := filepath.Join(done, c)
		if missing || (len(rest) == 0 && !followLast) {
			done = next
			continue
		}
		fi, err := root.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			missing = true
			done = next
			continue
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", next, unwrapPath(err))
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			done = next
			continue
		}
		hops++
		if hops > maxSymlinkHops {
			return "", refusedf("too many levels of symlinks at %s", filepath.ToSlash(next))
		}
		target, err := root.Readlink(next)
		if err != nil {
			return "", fmt.Errorf("%s: %w", next, unwrapPath(err))
		}
		via = filepath.ToSlash(next)
		if filepath.IsAbs(target) || strings.HasPrefix(target, "/") || filepath.VolumeName(target) != "" {
			return "", refusedf("%s is a symlink to %s, outside the checkout", via, target)
		}
		rest = append(splitPath(target), rest...)
	}
	if done == "" {
		return ".", nil
	}
	return done, nil
}

// parent returns the directory of a resolved relative path, "" for the top.
func parent(p string) string {
	d := filepath.Dir(p)
	if d == "." {
		return ""
	}
	return d
}

// unwrapPath drops an *fs.PathError's own path and operation (os.Root puts
// its internal names there) so messages carry the model's path only.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
