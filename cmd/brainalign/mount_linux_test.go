package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A mount point as --out (a container's volume, `-v $PWD/results:/out`): the metric commands
// write their files into it, encode refuses it before reading anything. Both computed the whole
// run and then failed to rename it ("device or resource busy"). Mounting needs root; elsewhere
// the test skips.
func TestOutIsMountPoint(t *testing.T) {
	mnt := smallDisk(t, "")

	files, err := writeResults(context.Background(), mnt, func(put putFile) ([]string, error) {
		return []string{"a.json"}, put.bytes("a.json", []byte("new"))
	})
	if err != nil || len(files) != 1 {
		t.Fatalf("writeResults into an empty mount point: %v, %v", files, err)
	}
	if b := mustRead(t, filepath.Join(mnt, "a.json")); string(b) != "new" {
		t.Errorf("a.json holds %q", b)
	}

	var stdout, stderr strings.Builder
	err = run(context.Background(), []string{"brainalign", "encode", "--features", "missing.npy", "--brain", "missing.npy", "--out", mnt, "--overwrite"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "is a mount point") {
		t.Errorf("encode --out a mount point: %v", err)
	}
}

// demo --study-out that cannot be written (a read-only file system) or replaced (a mount point
// holding an earlier study, with --overwrite) is refused before the demo scores anything: both
// failed after the encoding part, minutes into --size study. Mounting needs root; elsewhere the
// test skips.
func TestDemoStudyOutRefusedFirst(t *testing.T) {
	dir := t.TempDir()
	ro, full := filepath.Join(dir, "ro"), filepath.Join(dir, "full")
	for _, m := range []struct {
		dir   string
		flags uintptr
	}{{ro, unix.MS_RDONLY}, {full, 0}} {
		if err := os.Mkdir(m.dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", m.dir, "tmpfs", m.flags, ""); err != nil {
			t.Skipf("cannot mount here: %v", err)
		}
		defer unix.Unmount(m.dir, unix.MNT_DETACH)
	}
	// an earlier demo study, which --overwrite may replace
	for _, d := range []string{"sweeps", "spatial"} {
		if err := os.Mkdir(filepath.Join(full, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeText(t, filepath.Join(full, "spatial"), "spatial.json", `{"command": "spatial"}`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--study-out", filepath.Join(ro, "study")}, "--study-out " + filepath.Join(ro, "study") + ": cannot be created in " + ro + ": read-only file system"},
		{[]string{"--study-out", ro}, "--study-out " + ro + ": cannot be written: read-only file system"},
		{[]string{"--study-out", full, "--overwrite"}, "--study-out " + full + ": is a mount point"},
	} {
		stdout, stderr, code := runCLI(t, append([]string{"demo", "--device", "cpu"}, c.args...)...)
		if code != 1 || !strings.Contains(stderr, c.want) || stdout != "" {
			t.Errorf("demo %v: exit %d, stderr %q, stdout %q; want exit 1 before any output, saying %q", c.args, code, stderr, stdout, c.want)
		}
	}
}
