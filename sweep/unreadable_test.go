package sweep_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/sweep"
)

// A finished unit whose activations can no longer be read (deleted to free scratch space, a file
// system that fails a stat) keeps its record: nothing says its activations changed, and a merge
// takes it as scored. The rerun stops where it reads the file, naming it; it removed the record
// first (its scores lost, the merge of the finished sweep refused as unfinished).
func TestRerunKeepsUnitsOfUnreadableActivations(t *testing.T) {
	model, p, y, out := newSweep(t, []int{10, 100}, 3)
	if rep, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil || !rep.Merged {
		t.Fatalf("first run: %+v %v", rep, err)
	}
	before := unitScores(t, out, p)
	gone := filepath.Join(model, "ckpt-100", "layer-1.npy")
	if err := os.Remove(gone); err != nil {
		t.Fatal(err)
	}

	// Sharded: the other shard's unit is not done as far as this shard can tell, but the tables
	// stay current (nothing scored them again).
	other := config(t, out, p, y, nil)
	other.Shard = sweep.Shard{Index: 1, Count: 2} // ckpt-100/layer-1 is unit 4, shard 0's
	rep, err := sweep.Run(context.Background(), other)
	if err != nil || rep.Computed != 0 || rep.Merged || rep.Remaining != 1 || rep.StaleElsewhere != 0 {
		t.Errorf("shard 1/2 with shard 0's activations gone: %+v %v; want nothing scored, 1 unit of shard 0 not known done", rep, err)
	}
	if s, err := sweep.Load(out); err != nil {
		t.Errorf("tables after shard 1/2: %v", err)
	} else {
		s.Close()
	}

	_, err = sweep.Run(context.Background(), config(t, out, p, y, nil))
	if err == nil || !strings.Contains(err.Error(), gone) {
		t.Fatalf("rerun with %s gone: %v, want an error naming it", gone, err)
	}
	if _, err := os.Stat(filepath.Join(out, "units", "ckpt-100", "layer-1.json")); err != nil {
		t.Fatalf("the unit's record: %v", err)
	}
	if err := sweep.Merge(out); err != nil {
		t.Fatalf("merge after the rerun: %v", err)
	}
	s, err := sweep.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for c, ck := range p.Checkpoints {
		for l, ly := range p.Layers {
			if got := s.Scores[(c*s.L+l)*s.M : (c*s.L+l+1)*s.M]; !slices.Equal(got, before[ck.Name+"/"+ly]) {
				t.Errorf("%s/%s: merged scores %v, want the unit's %v", ck.Name, ly, got, before[ck.Name+"/"+ly])
			}
		}
	}
}
