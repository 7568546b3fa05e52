package array

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestWriteNPYBool writes a bool array as numpy does ('|b1', one byte 0 or 1 each), so that
// numpy reads it as dtype bool and best[mask] selects rather than fancy-indexes.
func TestWriteNPYBool(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mask.npy")
	// The array numpy wrote as bool.npy: [[True, False, True], [False, False, True]].
	if err := WriteNPY(p, []int{2, 3}, []bool{true, false, true, false, false, true}); err != nil {
		t.Fatal(err)
	}
	ours, theirs := mustRead(t, p), mustRead(t, fixture("bool.npy"))
	if !bytes.Contains(ours, []byte("'descr': '|b1'")) {
		t.Errorf("header %q: want numpy's '|b1'", ours[:min(len(ours), 80)])
	}
	if !bytes.Equal(ours, theirs) {
		t.Errorf("file differs from numpy's bool.npy:\n%q\n%q", ours, theirs)
	}
	a, err := ReadNPY(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := a.Ints(); a.DType != "bool" || len(got) != 6 || got[0] != 1 || got[1] != 0 || got[5] != 1 {
		t.Errorf("read back %s %v", a.DType, got)
	}
	if err := WriteNPY(p, []int{0}, []bool{}); err != nil {
		t.Errorf("empty bool array: %v", err)
	}
}
