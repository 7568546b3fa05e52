package outdir

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/brainalign/brainalign/internal/crashpoint"
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

// Write writes a file into the staging directory directly (no temp file beside it: nothing reads
// the staging directory); its errors name the file by its path in the output directory, not in
// the staging one, and a writer that fails or panics leaves nothing.
func TestWriteNamesFinalPath(t *testing.T) {
	root := t.TempDir()
	final := filepath.Join(root, "out")
	d, err := Create(final, false)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	put := func(name, content string) error {
		return d.Write(name, func(w io.Writer) error {
			_, err := io.WriteString(w, content)
			return err
		})
	}
	if err := put("a.json", "1"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, d.Path("")); !slices.Equal(got, []string{"a.json"}) {
		t.Errorf("staging directory holds %v, want a.json alone", got)
	}
	// a file there already: the error of the file system names the staging path, Write's the final one
	err = put("a.json", "2")
	if !errors.Is(err, fs.ErrExist) || !strings.HasPrefix(err.Error(), "atomicfile: "+filepath.Join(final, "a.json")+": ") {
		t.Errorf("a.json written twice: %v, want an error naming %s", err, filepath.Join(final, "a.json"))
	}
	boom := errors.New("boom")
	if err := d.Write("b.npy", func(w io.Writer) error { return boom }); err != boom {
		t.Errorf("a writer's error: %v, want it unchanged", err)
	}
	func() {
		defer func() { recover() }()
		d.Write("c.png", func(w io.Writer) error { panic("writer panicked") })
	}()
	if got := names(t, d.Path("")); !slices.Equal(got, []string{"a.json"}) {
		t.Errorf("staging directory holds %v, want a.json alone", got)
	}
	// a file in a folder of the directory: the folder made; one that cannot be made (a.json is
	// a file) named by the file's final path
	if err := put(filepath.Join("sub", "deeper", "d.npy"), "3"); err != nil {
		t.Fatal(err)
	}
	err = put(filepath.Join("a.json", "e.npy"), "4")
	if !errors.Is(err, syscall.ENOTDIR) || !strings.HasPrefix(err.Error(), filepath.Join(final, "a.json", "e.npy")+": ") {
		t.Errorf("a file in a.json: %v, want an error naming %s", err, filepath.Join(final, "a.json", "e.npy"))
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(final, "a.json")); string(b) != "1" {
		t.Errorf("a.json holds %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(final, "sub", "deeper", "d.npy")); string(b) != "3" {
		t.Errorf("sub/deeper/d.npy holds %q", b)
	}
}

// Commit makes the entries of every folder of the staging tree durable before it moves the
// tree into place: Write syncs each file but not the folder that names it (atomicfile.Write,
// which the files were written with before, synced it on renaming its temp file), so without
// this a crash after the rename could leave an output folder missing files. New and replacing
// (overwrite) alike; the folders are synced while the tree is still under its staging name.
func TestCommitSyncsStagedFolders(t *testing.T) {
	defer func(sync func(string), hook func(string)) { syncDir, crashpoint.Hook = sync, hook }(syncDir, crashpoint.Hook)
	for _, overwrite := range []bool{false, true} {
		final := filepath.Join(t.TempDir(), "out")
		if overwrite {
			if err := os.Mkdir(final, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(final, "old.json"), []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		d, err := Create(final, overwrite)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"a.json", filepath.Join("sub", "b.npy"), filepath.Join("sub", "deeper", "c.npy")} {
			if err := d.Write(name, func(w io.Writer) error { _, err := io.WriteString(w, name); return err }); err != nil {
				t.Fatal(err)
			}
		}
		staging := d.Path("")
		moved := false
		synced, syncedAfter := map[string]bool{}, map[string]bool{}
		crashpoint.Hook = func(step string) {
			if strings.HasPrefix(step, "outdir: renaming ") || strings.HasPrefix(step, "outdir: replacing ") {
				moved = true
			}
		}
		syncDir = func(dir string) {
			if !moved {
				synced[dir] = true
			} else {
				syncedAfter[dir] = true
			}
		}
		if err := d.Commit(); err != nil {
			t.Fatal(err)
		}
		for _, dir := range []string{staging, filepath.Join(staging, "sub"), filepath.Join(staging, "sub", "deeper")} {
			if !synced[dir] {
				t.Errorf("overwrite %v: %s not synced before the rename (synced: %v)", overwrite, dir, synced)
			}
		}
		// the rename itself is made durable: the folder naming the results is synced after it
		if parent := filepath.Dir(final); !syncedAfter[parent] {
			t.Errorf("overwrite %v: %s not synced after the rename (synced after: %v)", overwrite, parent, syncedAfter)
		}
		if b, err := os.ReadFile(filepath.Join(final, "sub", "deeper", "c.npy")); err != nil || string(b) != filepath.Join("sub", "deeper", "c.npy") {
			t.Errorf("overwrite %v: sub/deeper/c.npy: %q, %v", overwrite, b, err)
		}
	}
}
