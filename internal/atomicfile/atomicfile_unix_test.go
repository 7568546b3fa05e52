//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A new file gets 0666 less the umask, as os.Create gives; a replaced file keeps its mode.
func TestNewFileModeFollowsUmask(t *testing.T) {
	for _, tc := range []struct {
		umask int
		want  os.FileMode
	}{{0o022, 0o644}, {0o002, 0o664}, {0o027, 0o640}, {0o077, 0o600}} {
		old := syscall.Umask(tc.umask)
		p := filepath.Join(t.TempDir(), "f")
		err := WriteBytes(p, []byte("x"))
		var got os.FileMode
		if st, serr := os.Stat(p); serr == nil {
			got = st.Mode().Perm()
		}
		// Replacing keeps the mode, whatever the umask.
		os.Chmod(p, 0o604)
		err2 := WriteBytes(p, []byte("y"))
		st, _ := os.Stat(p)
		syscall.Umask(old)
		if err != nil || err2 != nil {
			t.Fatal(err, err2)
		}
		if got != tc.want {
			t.Errorf("umask %04o: new file %v, want %v", tc.umask, got, tc.want)
		}
		if st.Mode().Perm() != 0o604 {
			t.Errorf("umask %04o: replaced file %v, want the previous 0604", tc.umask, st.Mode().Perm())
		}
	}
}
