//go:build unix

package sweep_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/brainalign/brainalign/internal/owner"
	"github.com/brainalign/brainalign/internal/owner/ownertest"
	"github.com/brainalign/brainalign/sweep"
)

// A merge waits while another live merger holds the folder's merge lock, and then merges only
// if that one's tables are not current; a lock left by a killed merger (its process gone on this
// host, or untouched too long: a merger on another node) is removed, not waited for.
func TestMergeLock(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(out, "merge.lock")
	hold := func(host string, pid int, age time.Duration) {
		t.Helper()
		if err := os.WriteFile(lock, []byte(host+"-"+strconv.Itoa(pid)+"-0000abcd\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		then := time.Now().Add(-age)
		os.Chtimes(lock, then, then)
	}
	other := "0badf00d"
	if other == owner.Host() {
		other = "0badf00e"
	}
	waits := 0
	var finish func() // what the other merger does when it is waited for
	defer sweep.SetMergeLockWait(func() {
		waits++
		if waits > 3 {
			t.Fatal("still waiting")
		}
		finish()
	})()
	mtime := func(name string) time.Time {
		st, err := os.Stat(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return st.ModTime()
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(out, "table.csv"), old, old)

	// A live merger of this host (this test's parent process): waited for; it finishes its
	// merge, and the tables it leaves are current, so they are not written again.
	hold(owner.Host(), os.Getppid(), 0)
	finish = func() { os.Remove(lock) }
	res, err := sweep.MergeTables(context.Background(), out, nil)
	if err != nil || !res.UpToDate || waits != 1 || !mtime("table.csv").Equal(old) {
		t.Fatalf("merge while another holds the lock: %+v %v, %d waits, table rewritten %v", res, err, waits, !mtime("table.csv").Equal(old))
	}
	// A merger of another node, which fails (its tables not current): this one merges.
	waits = 0
	hold(other, 12345, 0)
	finish = func() {
		os.Remove(filepath.Join(out, "merged.json"))
		os.Remove(lock)
	}
	if res, err := sweep.MergeTables(context.Background(), out, nil); err != nil || res.UpToDate || waits != 1 {
		t.Fatalf("merge after another's failed: %+v %v, %d waits", res, err, waits)
	}
	if s, err := sweep.Load(out); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}
	// Killed mergers: not waited for, their locks removed.
	finish = func() { t.Error("waited for an abandoned lock") }
	for name, h := range map[string]func(){
		"dead process here":            func() { hold(owner.Host(), ownertest.DeadPID(t), 0) },
		"another node, untouched":      func() { hold(other, 12345, sweep.MergeLockStale+time.Minute) },
		"live process here, untouched": func() { hold(owner.Host(), os.Getppid(), sweep.MergeLockStale+time.Minute) },
	} {
		h()
		if res, err := sweep.MergeTables(context.Background(), out, nil); err != nil || res.UpToDate {
			t.Errorf("%s: %+v %v", name, res, err)
		}
		if _, err := os.Stat(lock); !os.IsNotExist(err) {
			t.Errorf("%s: lock still there (%v)", name, err)
		}
	}
	// Run's merge takes the lock too.
	hold(owner.Host(), os.Getppid(), 0)
	waits = 0
	finish = func() { os.Remove(lock) }
	os.Remove(filepath.Join(out, "merged.json"))
	if rep, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil || !rep.Merged || waits != 1 {
		t.Fatalf("run while another merge holds the lock: %+v %v, %d waits", rep, err, waits)
	}
	if entries, _ := filepath.Glob(filepath.Join(out, "merge.lock*")); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// A merge (--merge-only) removes the temp files a killed merge left (one as large as
// fold_scores.npy) and a killed run's in the units, and ReadStatus lists them with their sizes
// before.
func TestMergeRemovesAbandonedTempFiles(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	dead := strconv.Itoa(ownertest.DeadPID(t))
	live := strconv.Itoa(os.Getppid())
	killedMerge := filepath.Join(out, ".fold_scores.npy.tmp-"+owner.Host()+"-"+dead+"-0000abcd")
	killedUnit := filepath.Join(out, "units", "ckpt-1", ".layer-0.scores.npy.tmp-"+owner.Host()+"-"+dead+"-0000abce")
	writing := filepath.Join(out, "units", "ckpt-2", ".layer-1.alphas.npy.tmp-"+owner.Host()+"-"+live+"-0000abcf")
	for i, f := range []string{killedMerge, killedUnit, writing} {
		if err := os.WriteFile(f, make([]byte, 1000*(i+1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, err := sweep.ReadStatus(out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tf := range st.Temp {
		got[tf.Path] = strconv.FormatInt(tf.Size, 10) + " " + strconv.FormatBool(tf.Abandoned)
	}
	if len(got) != 3 || got[killedMerge] != "1000 true" || got[killedUnit] != "2000 true" || got[writing] != "3000 false" {
		t.Errorf("status's temp files: %v", got)
	}
	res, err := sweep.MergeTables(context.Background(), out, nil)
	if err != nil || res.Abandoned != 2 {
		t.Fatalf("merge: %+v %v, want 2 temp files removed", res, err)
	}
	for _, f := range []string{killedMerge, killedUnit} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s not removed", f)
		}
	}
	if _, err := os.Stat(writing); err != nil {
		t.Errorf("a live writer's temp file was removed: %v", err)
	}
}

// A signal (ctx done) ends a merge's wait for another merger's lock at once; the lock, not its
// own, stays.
func TestMergeLockWaitCancelled(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(out, "merge.lock")
	if err := os.WriteFile(lock, []byte(owner.Host()+"-"+strconv.Itoa(os.Getppid())+"-0000abcd\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sweep.MergeTables(ctx, out, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("merge waiting for a live merger's lock, cancelled: %v", err)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("the other merger's lock: %v", err)
	}
}

// A run replacing sweep.json while a merge reads the units (new --steps) leaves the merge's
// tables, built from the old one, not current.
func TestMergeOfReplacedManifest(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(out, "merged.json"))
	mpath := filepath.Join(out, "sweep.json")
	b, err := os.ReadFile(mpath)
	if err != nil {
		t.Fatal(err)
	}
	defer sweep.SetMergeRead(func() {
		if err := os.WriteFile(mpath, append(b, ' '), 0o644); err != nil { // another run's sweep.json
			t.Fatal(err)
		}
	})()
	if err := sweep.Merge(out); !errors.Is(err, sweep.ErrUnitsChanged) {
		t.Errorf("merge while sweep.json was replaced: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "merged.json")); err == nil {
		t.Error("merged.json written for tables of the replaced sweep.json")
	}
}
