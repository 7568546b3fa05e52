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
	mnt := filepath.Join(t.TempDir(), "out")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, ""); err != nil {
		t.Skipf("cannot mount here: %v", err)
	}
	defer unix.Unmount(mnt, unix.MNT_DETACH)

	files, err := writeResults(context.Background(), mnt, func(path func(string) string) ([]string, error) {
		return []string{"a.json"}, os.WriteFile(path("a.json"), []byte("new"), 0o666)
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
