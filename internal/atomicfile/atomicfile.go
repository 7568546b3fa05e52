package atomicfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Write creates path by writing a temp file in the same directory, fsyncing, and renaming it over
// path; on any error the temp file is removed and path is untouched.
//
// write receives a buffered writer; large writes pass through the buffer straight to the file.
// An error returned by write is returned unchanged. The file gets the permissions of the file it
// replaces, or 0644 for a new file. The temp file lives in the same directory because rename is
// only atomic within one file system.
func Write(path string, write func(w io.Writer) error) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if base == "" {
		return fmt.Errorf("atomicfile: %q: not a file name", path)
	}
	perm := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		if !st.Mode().IsRegular() {
			return fmt.Errorf("atomicfile: %s: exists and is not a regular file", path)
		}
		perm = st.Mode().Perm()
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		// Also runs when write panics, so no temp file is left behind.
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriterSize(f, 1<<20)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	// Sync before rename: otherwise a crash can leave the new name pointing at an empty file.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: %s: %w", path, err)
	}
	done = true
	syncDir(dir)
	return nil
}

// WriteBytes writes b to path atomically (see Write).
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(b))
		return err
	})
}

// syncDir makes the rename durable. It is best effort: the new file is complete and in place
// whatever happens here, and some systems (Windows, some network file systems) cannot sync a
// directory.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
