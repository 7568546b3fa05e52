package outdir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// /proc is a mount point on every Linux system; a folder made by the test is not.
func TestMountPoint(t *testing.T) {
	if !mountPoint("/proc") {
		t.Error("mountPoint(/proc) = false")
	}
	if dir := t.TempDir(); mountPoint(dir) {
		t.Errorf("mountPoint(%s) = true", dir)
	}
}

// An output directory that is a mount point (a container's volume given as --out) is refused by
// Create, with the way out, rather than after the run's compute at Commit: rename cannot move
// it ("device or resource busy"). Mounting needs root; elsewhere the test skips.
func TestCreateRefusesMountPoint(t *testing.T) {
	root := t.TempDir()
	for _, kind := range []string{"tmpfs", "bind"} {
		mnt := filepath.Join(root, kind)
		if err := os.Mkdir(mnt, 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if kind == "tmpfs" {
			err = unix.Mount("tmpfs", mnt, "tmpfs", 0, "")
		} else {
			src := filepath.Join(root, "src")
			os.Mkdir(src, 0o755)
			err = unix.Mount(src, mnt, "", unix.MS_BIND, "") // the same file system: st_dev alike
		}
		if err != nil {
			t.Skipf("cannot mount here: %v", err)
		}
		defer unix.Unmount(mnt, unix.MNT_DETACH)

		if !IsMountPoint(mnt) {
			t.Errorf("%s: IsMountPoint = false", kind)
		}
		for _, overwrite := range []bool{false, true} {
			d, err := Create(mnt, overwrite)
			if err == nil {
				write(t, d.Path("x"), "x")
				err = d.Commit()
				t.Errorf("%s, overwrite %v: Create accepted the mount point (Commit: %v)", kind, overwrite, err)
				continue
			}
			if !strings.Contains(err.Error(), "is a mount point") || !strings.Contains(err.Error(), filepath.Join(mnt, "results")) {
				t.Errorf("%s, overwrite %v: %v", kind, overwrite, err)
			}
		}
		// Nothing staged beside it.
		if n := names(t, root); len(n) > 3 {
			t.Errorf("%s: %s holds %v", kind, root, n)
		}
	}
}
