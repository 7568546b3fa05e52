package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// HDF5 inputs score as the same data in .npy files: the study of testdata/hdf5 (gen_hdf5.py)
// holds activations (one float32 dataset) and int16 betas (gzip, shuffle, libver='latest'),
// next to their .npy twins.
func TestEncodeHDF5(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "..", "testdata", "hdf5")
	run := func(out string, args ...string) []byte {
		t.Helper()
		args = append([]string{"encode", "--out", filepath.Join(dir, out), "--precision", "float64"}, args...)
		if _, stderr, code := runCLI(t, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", out, code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, out, "scores.npy"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	npy := run("npy", "--features", filepath.Join(src, "study_X.npy"), "--brain", filepath.Join(src, "study_Y.npy"))
	h5 := run("h5", "--features", filepath.Join(src, "study_X.h5"), "--brain", filepath.Join(src, "study_Y.hdf5"), "--brain-array", "betas")
	if !bytes.Equal(npy, h5) {
		t.Error("scores.npy from the HDF5 files differ from the .npy files'")
	}
	// Several datasets and no name: as for .npz, the error lists them.
	_, stderr, code := runCLI(t, "encode", "--features", filepath.Join(src, "study_X.h5"), "--brain", filepath.Join(src, "study_Y.hdf5"),
		"--out", filepath.Join(dir, "noname"))
	if code == 0 || !strings.Contains(stderr, "holds 2 arrays (betas, ids)") || !strings.Contains(stderr, "--brain-array") {
		t.Errorf("no --brain-array: exit %d, stderr %q", code, stderr)
	}
}
