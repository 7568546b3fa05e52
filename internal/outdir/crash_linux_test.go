package outdir

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/brainalign/brainalign/internal/crashpoint/crashtest"
)

func TestMain(m *testing.M) {
	if crashtest.Child(crashChildMain) { // a child process of TestReplaceCrashEveryStep
		return
	}
	os.Exit(m.Run())
}

// crashChildMain writes the folder args[0] (replacing it) with files a and b holding args[1];
// args[2] "fallback": as where the exchange is refused.
func crashChildMain(args []string) int {
	if args[2] == "fallback" {
		renameat2 = func(int, string, int, string, uint) error { return unix.ENOSYS }
	}
	if err := writeFolder(args[0], args[1]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func writeFolder(final, content string) error {
	d, err := Create(final, true)
	if err != nil {
		return err
	}
	defer d.Abort()
	for _, name := range []string{"a", "b"} {
		if err := d.Write(name, func(w io.Writer) error { _, err := io.WriteString(w, content); return err }); err != nil {
			return err
		}
	}
	return d.Commit()
}

// readFolder returns the files of dir and their contents.
func readFolder(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

// An output folder replaced (--overwrite) by a process killed at every step: the path names the
// whole previous folder or the whole new one (with the exchange; with the fallback's two
// renames, also nothing, the previous folder whole beside it as .NAME.tmp-....old), and once
// written again it holds the new folder, nothing left beside it.
func TestReplaceCrashEveryStep(t *testing.T) {
	old := map[string][]byte{"a": []byte("old"), "b": []byte("old")}
	want := map[string][]byte{"a": []byte("new"), "b": []byte("new")}
	same := func(a, b map[string][]byte) bool { return maps.EqualFunc(a, b, bytes.Equal) }
	for _, mode := range []string{"exchange", "fallback"} {
		t.Run(mode, func(t *testing.T) {
			root := t.TempDir()
			if mode == "exchange" {
				exchangeable(t, root)
			} else {
				t.Cleanup(func() { renameat2 = unix.Renameat2 })
				renameat2 = func(int, string, int, string, uint) error { return unix.ENOSYS }
			}
			final := filepath.Join(root, "out")
			prepare := func() {
				if err := os.RemoveAll(root); err != nil {
					t.Fatal(err)
				}
				if err := os.Mkdir(root, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := writeFolder(final, "old"); err != nil {
					t.Fatal(err)
				}
			}
			crashtest.EachStep(t, root, prepare, func(what string, _ crashtest.Result) {
				if _, err := os.Stat(final); err == nil {
					if got := readFolder(t, final); !same(got, old) && !same(got, want) {
						t.Errorf("%s: the output holds %q, neither the previous folder nor the new one", what, got)
					}
				} else {
					olds, _ := filepath.Glob(filepath.Join(root, ".out.tmp-*"+oldSuffix))
					if mode == "exchange" || len(olds) != 1 || !same(readFolder(t, olds[0]), old) {
						t.Errorf("%s: no output, and beside it %v", what, olds)
					}
				}
				if err := writeFolder(final, "new"); err != nil {
					t.Errorf("%s: written again: %v", what, err)
				}
				if got := readFolder(t, final); !same(got, want) {
					t.Errorf("%s, written again: the output holds %q", what, got)
				}
				if n := names(t, root); !slices.Equal(n, []string{"out"}) {
					t.Errorf("%s, written again: beside the output: %v", what, n)
				}
			}, final, "new", mode)
		})
	}
}
