//go:build unix

package sweep_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/brainalign/brainalign/internal/owner"
	"github.com/brainalign/brainalign/internal/owner/ownertest"
	"github.com/brainalign/brainalign/sweep"
)

// A rerun removes the temp files that a killed run left half-written in the units folder (a
// unit's three arrays can be hundreds of MB at fMRI width), and leaves a live shard's alone.
func TestResumeRemovesAbandonedTempFiles(t *testing.T) {
	_, p, y, out := newSweep(t, []int{10, 100}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, session(t, y))); err != nil {
		t.Fatal(err)
	}
	dead := strconv.Itoa(ownertest.DeadPID(t)) // the killed run
	live := strconv.Itoa(os.Getppid())
	units := filepath.Join(out, "units", "ckpt-10")
	killed := filepath.Join(units, ".layer-1.fold_scores.npy.tmp-"+owner.Host()+"-"+dead+"-0000abcd")
	writing := filepath.Join(units, ".layer-1.alphas.npy.tmp-"+owner.Host()+"-"+live+"-0000abce")
	for _, f := range []string{killed, writing} {
		if err := os.WriteFile(f, make([]byte, 4096), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := sweep.Run(context.Background(), config(t, out, p, y, session(t, y)))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Abandoned != 1 {
		t.Errorf("Report.Abandoned = %d, want 1", rep.Abandoned)
	}
	if _, err := os.Stat(killed); err == nil {
		t.Errorf("the killed run's temp file is still there")
	}
	if _, err := os.Stat(writing); err != nil {
		t.Errorf("a live writer's temp file was removed: %v", err)
	}
}
