//go:build unix

package sweep_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/internal/crashpoint/crashtest"
	"github.com/brainalign/brainalign/internal/owner"
	"github.com/brainalign/brainalign/internal/owner/ownertest"
	"github.com/brainalign/brainalign/sweep"
)

// A merge (--merge-only) that finds the lock of a killed merger, killed itself at every step
// (internal/crashpoint): breaking that lock, taking its own, writing each table, recording the
// merge, releasing the lock; also with a killed breaker's mark, set aside and removed first. Merged again, the tables are those of an uninterrupted merge and
// current, and no lock, break mark or temp file is left; at each kill, tables read as current
// are whole. (cmd/brainalign's crash tests kill runs, shards and merges of the CLI likewise.)
func TestMergeCrashEveryStep(t *testing.T) {
	_, p, y, out := newSweep(t, []int{10, 20}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	tables := []string{"scores.npy", "fold_scores.npy", "steps.npy", "table.csv"}
	want := map[string][]byte{}
	for _, f := range tables {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		want[f] = b
	}
	snap := filepath.Join(t.TempDir(), "snap")
	copyDir(t, out, snap)
	killed := owner.Host() + "-" + strconv.Itoa(ownertest.DeadPID(t)) + "-0000abcd\n"
	defer sweep.SetMergeLockWait(func() { time.Sleep(10 * time.Millisecond) })()
	for _, mark := range []bool{false, true} {
		prepare := func() {
			if err := os.RemoveAll(out); err != nil {
				t.Fatal(err)
			}
			copyDir(t, snap, out)
			if err := os.WriteFile(filepath.Join(out, "merge.lock"), []byte(killed), 0o644); err != nil {
				t.Fatal(err)
			}
			if mark { // and the mark of a breaker killed while breaking it
				if err := os.WriteFile(filepath.Join(out, "merge.lock.break"), []byte(killed), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		kills := crashtest.EachStep(t, out, prepare, func(what string, _ crashtest.Result) {
			if s, err := sweep.Load(out); err == nil {
				s.Close()
				for _, f := range tables {
					if b, _ := os.ReadFile(filepath.Join(out, f)); !bytes.Equal(b, want[f]) {
						t.Errorf("%s: Load takes %s as current, not whole", what, f)
					}
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, err := sweep.MergeTables(ctx, out, nil)
			cancel()
			if err != nil {
				t.Errorf("%s: merged again: %v", what, err)
			}
			for _, f := range tables {
				if b, _ := os.ReadFile(filepath.Join(out, f)); !bytes.Equal(b, want[f]) {
					t.Errorf("%s, merged again: %s differs from an uninterrupted merge's", what, f)
				}
			}
			if st, err := sweep.ReadStatus(out); err != nil || !st.Current {
				t.Errorf("%s, merged again: tables not current (%v)", what, err)
			}
			filepath.WalkDir(out, func(p string, e fs.DirEntry, err error) error {
				if err == nil && (strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "merge.lock")) {
					t.Errorf("%s, merged again: %s left behind", what, p)
				}
				return nil
			})
			if t.Failed() {
				t.FailNow()
			}
		}, "merge", out)
		t.Logf("a killed breaker's mark too %v: %d kill points", mark, kills)
	}
}

// copyDir copies the folder src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
