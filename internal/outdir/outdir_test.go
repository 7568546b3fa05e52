package outdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCommitReplacesOnlyWhenAsked(t *testing.T) {
	root := t.TempDir()
	final := filepath.Join(root, "out")
	d, err := Create(final, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.Path("a"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(final); !os.IsNotExist(err) {
		t.Fatalf("final directory visible before commit: %v", err)
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(final, "a")); string(b) != "1" {
		t.Fatalf("committed file = %q", b)
	}
	if _, err := Create(final, false); err == nil || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("second create without overwrite: %v", err)
	}
	d2, err := Create(final, true)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(d2.Path("b"), []byte("2"), 0o644)
	if err := d2.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(final, "a")); !os.IsNotExist(err) {
		t.Fatal("old file survived the replacement")
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Fatalf("leftovers beside the output: %v", entries)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	root := t.TempDir()
	d, err := Create(filepath.Join(root, "out"), false)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(d.Path("x"), []byte("x"), 0o644)
	d.Abort()
	if entries, _ := os.ReadDir(root); len(entries) != 0 {
		t.Fatalf("abort left %v", entries)
	}
}

func TestMissingParent(t *testing.T) {
	if _, err := Create(filepath.Join(t.TempDir(), "no", "out"), false); err == nil {
		t.Fatal("want an error for a missing parent")
	}
}
