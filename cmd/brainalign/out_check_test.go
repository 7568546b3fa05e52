package main

import (
	"os"
	"path/filepath"
	"testing"
)

// An --out that cannot be written is found before anything is read or computed: under a file
// (and, for another user than root, in a read-only folder).
func TestUnwritableOutFailsFirst(t *testing.T) {
	dir := t.TempDir()
	file := writeText(t, dir, "file", "x")
	missing := filepath.Join(dir, "missing.npy") // never read: --out is refused first
	out := filepath.Join(file, "res")
	wantError(t, 1, "--out "+out+": "+file+" is not a folder", "universal", "--features", missing, "--features", missing, "--brain", missing, "--out", out)
	wantError(t, 1, "--out "+out+": "+file+" is not a folder", "rank", "--out", out, dir)
	wantError(t, 1, "--out "+out+": "+file+" is not a folder", "scaling", "--table", missing, "--out", out)
	if os.Geteuid() == 0 {
		t.Skip("root writes into a folder of mode 0555")
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(ro, 0o755)
	out = filepath.Join(ro, "res")
	wantError(t, 1, "--out "+out+": cannot be created in "+ro, "universal", "--features", missing, "--features", missing, "--brain", missing, "--out", out)
}
