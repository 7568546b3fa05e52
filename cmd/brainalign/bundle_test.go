package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// writeBundle writes an .npz holding the given .npy members (stored), other files, and members
// named .npy whose bytes are garbage (corrupt).
func writeBundle(t *testing.T, path string, arrays map[string]*array.Array, others map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	z := zip.NewWriter(f)
	tmp := filepath.Join(t.TempDir(), "m.npy")
	for name, a := range arrays {
		if err := array.WriteNPY(tmp, a.Shape, a.F32); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(tmp)
		w, err := z.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: zip.Deflate})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	for name, text := range others {
		w, _ := z.Create(name)
		w.Write([]byte(text))
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// An .npz with files that are not arrays (meta.json, README) is read as numpy reads it: encode
// takes the member named, sweep skips the others with a warning; a member that is corrupt only
// matters when it is the one used.
func TestBundleWithOtherMembers(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 40, 4, 3)
	xa, err := array.ReadNPY(xp)
	if err != nil {
		t.Fatal(err)
	}
	x := &array.Array{Shape: xa.Shape, F32: append([]float32(nil), xa.F32...)}
	xa.Close()
	ck := filepath.Join(dir, "model", "ckpt-100.npz")
	os.MkdirAll(filepath.Dir(ck), 0o755)
	writeBundle(t, ck, map[string]*array.Array{"blocks.3": x, "blocks.4": x},
		map[string]string{"meta.json": "{}", "README.txt": "extracted with timm", "blocks.9.npy": "not an array"})
	out := filepath.Join(dir, "o")
	if _, stderr, code := runCLI(t, "encode", "-x", ck, "--layer", "blocks.3", "-y", yp, "-o", out); code != 0 {
		t.Fatalf("encode of a member beside other files and a corrupt member: %s", stderr)
	}
	_, stderr, code := runCLI(t, "encode", "-x", ck, "--layer", "meta.json", "-y", yp, "-o", filepath.Join(dir, "o2"))
	if code == 0 || !strings.Contains(stderr, "meta.json") || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
		t.Errorf("--layer naming a file that is not an array: exit %d, %q", code, stderr)
	}
	_, stderr, code = runCLI(t, "encode", "-x", ck, "--layer", "blocks.9", "-y", yp, "-o", filepath.Join(dir, "o3"))
	if code == 0 || !strings.Contains(stderr, "blocks.9") {
		t.Errorf("--layer naming the corrupt member: exit %d, %q", code, stderr)
	}
	// sweep: the corrupt member is a layer (its name says so) and fails when scored; without it
	// the bundle sweeps, the other files skipped with a warning.
	writeBundle(t, ck, map[string]*array.Array{"blocks.3": x, "blocks.4": x}, map[string]string{"meta.json": "{}", "README.txt": "x"})
	_, stderr, code = runCLI(t, "sweep", "--features", filepath.Join(dir, "model"), "--brain", yp, "--alphas", "1,100", "--out", filepath.Join(dir, "s"))
	if code != 0 {
		t.Fatalf("sweep of a bundle with other files: %s", stderr)
	}
	if !strings.Contains(stderr, "warning: skipped") || !strings.Contains(stderr, "meta.json") {
		t.Errorf("sweep did not say it skipped meta.json: %q", stderr)
	}
}
