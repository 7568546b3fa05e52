package sweep_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/sweep"
)

// ReadStatus counts done units, the engines' time per unit and the latest units' rate from the
// records' times (planted here), and tells current tables from stale ones.
func TestReadStatus(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2, 3}, 2)
	cfg := config(t, out, p, y, nil)
	cfg.Shard = sweep.Shard{Index: 0, Count: 2}
	if _, err := sweep.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	st, err := sweep.ReadStatus(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Units != 6 || st.Done != 3 || st.Merged || st.Current || len(st.Timed) != 1 || st.Timed[0].Units != 3 {
		t.Fatalf("after shard 0 of 2: %+v", st)
	}
	if q, err := sweep.ReadStatusQuick(out); err != nil || q.Units != 6 || q.Done != 3 || q.Merged || q.Current {
		t.Fatalf("quick, after shard 0 of 2: %+v %v", q, err)
	}
	cfg.Shard = sweep.Shard{Index: 1, Count: 2}
	if _, err := sweep.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if st, err = sweep.ReadStatus(out); err != nil || st.Done != 6 || !st.Merged || !st.Current {
		t.Fatalf("after both shards: %+v %v", st, err)
	}
	if q, err := sweep.ReadStatusQuick(out); err != nil || q.Done != 6 || !q.Merged || !q.Current {
		t.Fatalf("quick, after both shards: %+v %v", q, err)
	}
	// Plant the records' times: 6 units at 0, 10, 20, ..., 50 s: 5 intervals in 50 s.
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	k := 0
	for _, ck := range []string{"ckpt-1", "ckpt-2", "ckpt-3"} {
		for _, ly := range []string{"layer-0", "layer-1"} {
			path := filepath.Join(out, "units", ck, ly+".json")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var rec map[string]any
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			rec["created"] = t0.Add(time.Duration(10*k) * time.Second).Format(time.RFC3339)
			k++
			b, _ = json.Marshal(rec)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, err = sweep.ReadStatus(out)
	if err != nil || st.Done != 6 || st.RecentN != 6 || st.RecentSpan != 50*time.Second || st.Recent != 0.1 ||
		!st.Last.Equal(t0.Add(50*time.Second)) {
		t.Fatalf("planted times: %+v %v", st, err)
	}
	if !st.Merged || st.Current {
		t.Errorf("records changed since the merge: merged %v, current %v; want merged, not current", st.Merged, st.Current)
	}
	// A record gone (a unit to score again): not current.
	if err := os.Remove(filepath.Join(out, "units", "ckpt-3", "layer-1.json")); err != nil {
		t.Fatal(err)
	}
	if q, err := sweep.ReadStatusQuick(out); err != nil || q.Done != 5 || !q.Merged || q.Current {
		t.Errorf("quick, a record removed: %+v %v", q, err)
	}
	if _, err := sweep.ReadStatus(filepath.Dir(out)); err == nil {
		t.Error("ReadStatus of a folder without sweep.json")
	}
	// Parts and channels: none saved, none read; a damaged parts file is said, not fatal.
	if st.Parts != nil || st.Channels != nil || st.MetaErr != "" {
		t.Errorf("a sweep of one .npy file: parts %v, channels %v, %q", st.Parts, st.Channels, st.MetaErr)
	}
	if err := os.WriteFile(filepath.Join(out, "meta", "parts.txt"), []byte("lh\t3\nrh three\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err = sweep.ReadStatus(out); err != nil || !strings.Contains(st.MetaErr, "line 2") {
		t.Errorf("a damaged parts.txt: %q, %v", st.MetaErr, err)
	}
}
