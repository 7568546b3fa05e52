package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

// version is set at build time (-ldflags "-X main.version=..."); otherwise it comes from the VCS
// stamp Go puts in binaries built from a checkout.
var version = "dev"

func init() {
	if version != "dev" {
		return
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) >= 7 {
		version = "dev-" + rev[:7]
		if dirty {
			version += "-dirty"
		}
	}
}

// commands is filled by each cmd_*.go file's init, so adding a command touches one file.
var commands []*cli.Command

func registerCommand(c *cli.Command) { commands = append(commands, c) }

func newApp(stdout, stderr io.Writer) *cli.App {
	sort.Slice(commands, func(i, j int) bool { return commands[i].Name < commands[j].Name })
	// A command line that does not parse is one line on stderr and exit status 2, without the
	// help (which `--help` shows): scripts capture stdout.
	onUsageError := func(_ *cli.Context, err error, _ bool) error {
		// urfave/cli's words for -y and --brain mixed among the repeats of one flag
		if a, b, ok := strings.Cut(strings.TrimPrefix(err.Error(), "Cannot use two forms of the same flag: "), " "); ok && strings.HasPrefix(err.Error(), "Cannot use two forms") {
			short, long := a, b
			if len(short) > len(long) {
				short, long = long, short
			}
			return usageError("-%s and --%s are one flag: give every repeat in one form (all -%s, or all --%s)", short, long, short, long)
		}
		return usageError("%v", err)
	}
	for _, c := range commands {
		if c.OnUsageError == nil {
			c.OnUsageError = onUsageError
		}
	}
	return &cli.App{
		OnUsageError: onUsageError,
		Before: func(c *cli.Context) error {
			c.App.Metadata = map[string]any{commandLineKey: c.Args().Slice()} // flagLabel reads it
			// the garbage collector's bound, before a command reads anything
			boundHeapToMachine()
			return onceFlags(c.Args().Slice())
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usageError("unknown command %q; `brainalign help` lists the commands", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Name:    "brainalign",
		Usage:   "score how well vision-model activations predict brain recordings (ridge encoding)",
		Version: version,
		Description: "brainalign fits ridge regression from model activations (images x features) to brain\n" +
			"responses (images x targets) over a penalty grid, picks the penalty per target by\n" +
			"leave-one-out inside each training fold, and scores each target by the Pearson r on the\n" +
			"held-out fold, as scikit-learn's RidgeCV(alpha_per_target=True) inside KFold(5) does.\n" +
			"Start with `brainalign demo`.",
		Commands:             commands,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		ExitErrHandler:       func(*cli.Context, error) {}, // main maps errors to exit codes
		// Repeated flags take one value each (files, V1 points): a comma in a path
		// (runs/lr=1e-3,bs=256/) is part of it, not a list.
		DisableSliceFlagSeparator: true,
	}
}

// run executes the CLI in-process; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return newApp(stdout, stderr).RunContext(ctx, args)
}

func main() {
	// The first SIGINT or SIGTERM cancels the run (outputs are written whole or not at all); a
	// second one stops the process at once, as signals do by default.
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		signal.Stop(sigs)
		cancel(interrupted{s})
	}()
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	if errors.Is(err, context.Canceled) {
		if cause := context.Cause(ctx); cause != nil {
			err = cause
		}
	}
	os.Exit(exitCode(err, os.Stderr))
}

// interrupted is the error of a run cancelled by a signal.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string {
	return fmt.Sprintf("interrupted (%v): finished outputs are kept, the one in progress was not written", e.sig)
}

// Is makes an interruption a cancellation for errors.Is.
func (e interrupted) Is(target error) bool { return target == context.Canceled }

// exitCode prints err as one line and maps it to the process exit status: 0 success, 1 failure,
// 2 usage error, 128 + the signal's number when a signal interrupted the run (130 SIGINT, 143
// SIGTERM), 130 for any other cancellation.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "brainalign: %v\n", err)
	var ec cli.ExitCoder
	var sig interrupted
	switch {
	case errors.As(err, &sig):
		if s, ok := sig.sig.(syscall.Signal); ok {
			return 128 + int(s)
		}
		return 130
	case errors.Is(err, context.Canceled):
		return 130
	case errors.As(err, &ec):
		return ec.ExitCode()
	case isFlagError(err):
		return 2
	}
	return 1
}

// isFlagError recognises the command-line errors urfave/cli reports without a type of its own
// to match: missing required flags, unknown flags, malformed flag values.
func isFlagError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"Required flag", "Required flags", "flag provided but not defined", "invalid value", "invalid boolean"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// usageError marks an error in the command line (exit status 2).
func usageError(format string, a ...any) error {
	return cli.Exit(fmt.Sprintf(format, a...), 2)
}
