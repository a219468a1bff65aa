// Package cmdflag is what every command under cmd/ does with its flags
// the same way: -version prints the module's version, and -h prints the
// usage and succeeds.
package cmdflag

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path"
	"runtime/debug"
)

// Version returns the module's name and version as the binary records
// them, like "incident-channels v1.2.0" or "incident-channels (devel)"
// for a build from a work tree, with the commit when the build has one.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "incident-channels (unknown)"
	}
	name, version := path.Base(bi.Main.Path), bi.Main.Version
	if name == "." || name == "/" {
		name = "incident-channels"
	}
	if version == "" {
		version = "(devel)"
	}
	s := name + " " + version
	for _, kv := range bi.Settings {
		if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
			s += " " + kv.Value[:12]
		}
	}
	return s
}

// Parse adds -version to fs and parses args. done is true when the
// command has nothing more to do: -h printed the usage to fs's output, or
// -version printed the version to stdout.
func Parse(fs *flag.FlagSet, args []string, stdout io.Writer) (done bool, err error) {
	version := fs.Bool("version", false, "print the version and exit")
	err = fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return true, nil
	case err != nil:
		return false, err
	case *version:
		_, err := fmt.Fprintln(stdout, Version())
		return true, err
	}
	return false, nil
}
