package main

import (
	"io"
	"strings"
	"testing"
)

// A flag whose default is not its zero value says so once: urfave/cli appends "(default: 0)"
// after a default written into the usage, so help read "(default: 10, or --dims if fewer)
// (default: 0)" (DefaultText is the place for it).
func TestHelpStatesEachDefaultOnce(t *testing.T) {
	for _, cmd := range newApp(io.Discard, io.Discard).Commands {
		if cmd.Name == "help" {
			continue
		}
		out, errOut, code := runCLI(t, cmd.Name, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d\n%s", cmd.Name, code, errOut)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Count(line, "(default:") > 1 {
				t.Errorf("%s --help states a default twice:\n%s", cmd.Name, strings.TrimSpace(line))
			}
		}
	}
}
