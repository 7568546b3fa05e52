package sweep_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/sweep"
)

// A sweep folder given as a symbolic link is written through, as encode's --out: a dangling
// link's target is created (not "cannot create: file exists"), and the link stays a link. A link
// whose target's parent does not exist says so.
func TestRunThroughDanglingLink(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1}, 2)
	link := out + "-link"
	if err := os.Symlink(filepath.Base(out), link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if _, err := sweep.Run(context.Background(), config(t, link, p, y, nil)); err != nil {
		t.Fatalf("sweep into a dangling link: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "scores.npy")); err != nil {
		t.Errorf("the link's target holds no tables: %v", err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s is no longer a symbolic link (%v)", link, err)
	}
	if s, err := sweep.Load(link); err != nil {
		t.Errorf("the sweep read through the link: %v", err)
	} else {
		s.Close()
	}

	far := filepath.Join(filepath.Dir(out), "far")
	missing := filepath.Join(filepath.Dir(out), "no", "such", "sweep")
	if err := os.Symlink(missing, far); err != nil {
		t.Fatal(err)
	}
	_, err := sweep.Run(context.Background(), config(t, far, p, y, nil))
	if err == nil || !strings.Contains(err.Error(), "parent directory "+filepath.Dir(missing)+" does not exist") {
		t.Errorf("sweep into a link to a missing folder's child: %v", err)
	}
}
