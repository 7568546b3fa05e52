package outdir

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/internal/owner"
	"github.com/brainalign/brainalign/internal/owner/ownertest"
)

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}

func symlink(t *testing.T, old, new string) {
	t.Helper()
	if err := os.Symlink(old, new); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
}

func commit(t *testing.T, final string, overwrite bool, file string) {
	t.Helper()
	d, err := Create(final, overwrite)
	if err != nil {
		t.Fatal(err)
	}
	write(t, d.Path(file), file)
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
}

// An output path that is a symbolic link is written through: the link's target receives the
// results, staged beside it, and the link stays a link.
func TestSymlinkWrittenThrough(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	os.Mkdir(a, 0o755)
	os.Mkdir(b, 0o755)
	real := filepath.Join(a, "real")
	os.Mkdir(real, 0o755)
	link := filepath.Join(b, "link")
	symlink(t, filepath.Join("..", "a", "real"), link)

	d, err := Create(link, false) // an empty target: no --overwrite needed
	if err != nil {
		t.Fatal(err)
	}
	if got := filepath.Dir(d.Path("")); got != a {
		t.Errorf("staged in %s, want beside the target in %s", got, a)
	}
	write(t, d.Path("x"), "1")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if d.Final() != link {
		t.Errorf("Final() = %s, want the path given, %s", d.Final(), link)
	}
	check := func(file string) {
		t.Helper()
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("%s is no longer a symbolic link (%v)", link, err)
		}
		if got, _ := os.ReadFile(filepath.Join(real, file)); string(got) != file {
			t.Errorf("%s holds %q, want %q", filepath.Join(real, file), got, file)
		}
		if n := names(t, a); len(n) != 1 {
			t.Errorf("%s holds %v, want only real", a, n)
		}
		if n := names(t, b); len(n) != 1 {
			t.Errorf("%s holds %v, want only link", b, n)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(real, "x")); string(got) != "1" {
		t.Errorf("target holds %q", got)
	}
	os.Remove(filepath.Join(real, "x"))
	write(t, filepath.Join(real, "stale"), "")

	// A non-empty target: refused without overwrite (the message names where the link leads),
	// replaced with it.
	if _, err := Create(link, false); err == nil || !strings.Contains(err.Error(), "--overwrite") || !strings.Contains(err.Error(), real) {
		t.Errorf("non-empty target without overwrite: %v", err)
	}
	commit(t, link, true, "y")
	check("y")
	if _, err := os.Stat(filepath.Join(real, "stale")); !os.IsNotExist(err) {
		t.Error("the replaced target's file survived")
	}

	// A chain of links, and a relative output path.
	link2 := filepath.Join(root, "link2")
	symlink(t, link, link2)
	t.Chdir(root)
	commit(t, "link2", true, "z")
	check("z")
}

func TestDanglingSymlinkCreatesTarget(t *testing.T) {
	root := t.TempDir()
	link := filepath.Join(root, "link")
	symlink(t, "real", link)
	commit(t, link, false, "x")
	if got, _ := os.ReadFile(filepath.Join(root, "real", "x")); string(got) != "x" {
		t.Errorf("target holds %q", got)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symbolic link (%v)", link, err)
	}
}

func TestSymlinkToFileRefused(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "f"), "keep")
	link := filepath.Join(root, "link")
	symlink(t, "f", link)
	if _, err := Create(link, true); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("link to a file: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "f")); string(got) != "keep" {
		t.Errorf("file changed to %q", got)
	}
}

// The working directory and its parents cannot be the output: the error comes up front, with
// or without overwrite, and nothing is created.
func TestWorkingDirectoryRefused(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "x", "y")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	for _, p := range []string{".", "..", "../..", filepath.Join(root, "x"), "../y", "/"} {
		for _, overwrite := range []bool{false, true} {
			_, err := Create(p, overwrite)
			if err == nil || !strings.Contains(err.Error(), "current working directory") {
				t.Errorf("Create(%q, %v): %v, want the working-directory error", p, overwrite, err)
			}
		}
	}
	if n := names(t, filepath.Join(root, "x")); len(n) != 1 {
		t.Errorf("left %v beside the output", n)
	}
	if n := names(t, sub); len(n) != 0 {
		t.Errorf("left %v in the working directory", n)
	}

	// Also when the working directory is reached through a symbolic link.
	link := filepath.Join(root, "link")
	symlink(t, sub, link)
	t.Chdir(link)
	if _, err := Create(sub, true); err == nil || !strings.Contains(err.Error(), "current working directory") {
		t.Errorf("working directory reached through a link: %v", err)
	}
	// A sibling of the working directory is fine.
	commit(t, "../z", false, "f")
	if _, err := os.Stat(filepath.Join(root, "x", "z", "f")); err != nil {
		t.Error(err)
	}
}

func TestEmptyExistingDirectory(t *testing.T) {
	root := t.TempDir()
	final := filepath.Join(root, "out")
	os.Mkdir(final, 0o755)
	commit(t, final, false, "f")
	if n := names(t, final); len(n) != 1 || n[0] != "f" {
		t.Errorf("output holds %v", n)
	}
	if n := names(t, root); len(n) != 1 {
		t.Errorf("leftovers beside the output: %v", n)
	}
}

func TestStaleStagingRemoved(t *testing.T) {
	root := t.TempDir()
	final := filepath.Join(root, "out")
	weekAgo := time.Now().Add(-owner.MaxAge - time.Hour)
	dead := strconv.Itoa(ownertest.DeadPID(t))
	me := owner.Host()
	other := "0badf00d"
	if other == me {
		other = "0badf00e"
	}
	type entry struct {
		name  string
		old   bool // mtime beyond owner.MaxAge
		file  bool // a file, not a directory
		stays bool
	}
	entries := []entry{
		{name: ".out.tmp-" + me + "-" + dead + "-0000abcd", stays: runtime.GOOS == "windows"},                                  // dead process here
		{name: ".out.tmp-" + me + "-" + strconv.Itoa(os.Getppid()) + "-0000abce", stays: true},                                 // live process
		{name: ".out.tmp-" + me + "-" + strconv.Itoa(os.Getppid()) + "-0000abcf", old: true, stays: runtime.GOOS != "windows"}, // live, however old
		{name: ".out.tmp-" + me + "-" + strconv.Itoa(os.Getpid()) + "-0000abd0", stays: true},                                  // this process
		{name: ".out.tmp-" + other + "-" + dead + "-0000abd1", stays: true},                                                    // another host: by age
		{name: ".out.tmp-" + other + "-" + dead + "-0000abd2", old: true},
		{name: ".out.tmp-123456789", stays: true}, // os.MkdirTemp's names: by age
		{name: ".out.tmp-123456780", old: true},
		{name: ".out.tmp-" + me + "-" + dead + "-0000abd3.old", stays: true}, // no output: maybe the only copy
		{name: ".other.tmp-" + me + "-" + dead + "-0000abd4", stays: true},   // another output
		{name: ".out.tmp-x", old: true, stays: true},                         // not a staging name
		{name: ".out.tmp-" + me + "-" + dead + "-0000abd5", file: true, stays: true},
	}
	for _, e := range entries {
		p := filepath.Join(root, e.name)
		if e.file {
			write(t, p, "")
		} else {
			os.Mkdir(p, 0o755)
			write(t, filepath.Join(p, "f"), "")
		}
		if e.old {
			os.Chtimes(p, weekAgo, weekAgo)
		}
	}
	live, err := Create(final, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		_, err := os.Lstat(filepath.Join(root, e.name))
		if e.stays && err != nil {
			t.Errorf("%s removed", e.name)
		}
		if !e.stays && err == nil {
			t.Errorf("%s not removed", e.name)
		}
	}
	// A second run of the same name beside a live one leaves it alone.
	d2, err := Create(final, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(live.Path("")); err != nil {
		t.Fatalf("a live staging directory was removed: %v", err)
	}
	d2.Abort()
	if err := live.Commit(); err != nil {
		t.Fatal(err)
	}
	// Once the output exists, a dead run's .old directory is garbage.
	if _, err := Create(final, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, entries[8].name)); err == nil && runtime.GOOS != "windows" {
		t.Errorf("%s not removed once the output exists", entries[8].name)
	}
}
