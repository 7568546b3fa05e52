//go:build unix

package sweep_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/brainalign/brainalign/sweep"
)

// Checkpoint folders that are symbolic links (a run's checkpoints linked in from scratch, the
// latest one from another run's folder) are checkpoints like the others: they were passed over as
// files that are not arrays, and the sweep silently had fewer checkpoints.
func TestDiscoverSymlinkedCheckpointFolders(t *testing.T) {
	root := t.TempDir()
	store, model := filepath.Join(root, "store"), filepath.Join(root, "model")
	writeModel(t, store, []int{10, 20, 30}, 3)
	if err := os.MkdirAll(model, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(store, "ckpt-10"), filepath.Join(model, "ckpt-10")); err != nil {
		t.Fatal(err)
	}
	for _, ck := range []string{"ckpt-20", "ckpt-30"} {
		if err := os.Symlink(filepath.Join(store, ck), filepath.Join(model, ck)); err != nil {
			t.Fatal(err)
		}
	}
	// A link to a folder without arrays (logs) is not a checkpoint, nor is a dangling link.
	os.MkdirAll(filepath.Join(root, "logs"), 0o755)
	os.Symlink(filepath.Join(root, "logs"), filepath.Join(model, "logs"))
	os.Symlink(filepath.Join(root, "gone"), filepath.Join(model, "gone"))
	p, err := sweep.Discover(model, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range p.Checkpoints {
		names = append(names, c.Name)
	}
	if len(names) != 3 || names[0] != "ckpt-10" || names[1] != "ckpt-20" || names[2] != "ckpt-30" {
		t.Fatalf("checkpoints %v, want [ckpt-10 ckpt-20 ckpt-30]", names)
	}
	if got := p.Checkpoints[1].Layers[0].Path; got != filepath.Join(model, "ckpt-20", "layer-0.npy") {
		t.Errorf("ckpt-20's first layer read from %s", got)
	}
}
