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
		t.Skip("root writes into a folder of mode 0555: make test-unprivileged runs this as nobody")
	}
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(ro, 0o755)
	out = filepath.Join(ro, "res")
	wantError(t, 1, "--out "+out+": cannot be created in "+ro, "universal", "--features", missing, "--features", missing, "--brain", missing, "--out", out)
}

// An output flag given empty (--out "$OUT" with OUT unset) is refused before anything runs,
// naming the flag: it was taken for the working directory (spatial refused it once its metric
// was computed, sweep could not create ""), for no output at all (rank printed only, bench wrote
// no --json file, both saying nothing) or for a new temporary folder (demo --study-out).
func TestEmptyOutputFlagRefused(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.npy") // never read
	for _, args := range [][]string{
		{"synth", "--out", ""},
		{"encode", "-o", "", "--features", missing, "--brain", missing},
		{"sweep", "--out", "", "--features", missing, "--brain", missing},
		{"spatial", "--out", "", dir},
		{"rank", "--out", "", dir},
		{"bench", "--json", ""},
		{"demo", "--study-out", ""},
	} {
		flag := args[1]
		if flag == "-o" {
			flag = "--out"
		}
		wantError(t, 2, flag+" is empty: name the output", args...)
	}
}
