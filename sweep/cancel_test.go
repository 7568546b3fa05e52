package sweep_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/brainalign/brainalign/sweep"
)

// cancelled is a context done from the start: a signal that came before the work.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// A merge stopped by a signal (ctx done) returns ctx's error and writes no table: stopped before
// it began, or between the units it reads. An uninterrupted merge then writes them.
func TestMergeCancelled(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	tables := []string{"scores.npy", "fold_scores.npy", "table.csv", "merged.json"}
	for _, f := range tables {
		if err := os.Remove(filepath.Join(out, f)); err != nil {
			t.Fatal(err)
		}
	}
	noTables := func(when string) {
		t.Helper()
		for _, f := range tables {
			if _, err := os.Stat(filepath.Join(out, f)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("merge cancelled %s wrote %s (%v)", when, f, err)
			}
		}
	}
	if _, err := sweep.MergeTables(cancelled(), out, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("merge cancelled before it began: %v, want context.Canceled", err)
	}
	noTables("before it began")

	ctx, cancel := context.WithCancel(context.Background())
	defer sweep.SetMergeRead(cancel)() // the signal comes once the merge has read the manifest
	if _, err := sweep.MergeTables(ctx, out, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("merge cancelled while reading the units: %v, want context.Canceled", err)
	}
	noTables("while reading the units")
	if _, err := os.Stat(filepath.Join(out, "merge.lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a cancelled merge left its lock: %v", err)
	}

	if err := sweep.Merge(out); err != nil {
		t.Fatal(err)
	}
	for _, f := range tables {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

// The analyses over sweeps return ctx's error when a signal came.
func TestAnalysesCancelled(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	s, err := sweep.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	g := []*sweep.Sweep{s}
	if _, err := sweep.HalfTimes(cancelled(), g, sweep.HalfTimeOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("HalfTimes: %v, want context.Canceled", err)
	}
	for _, metric := range []string{"encoding", "spatial", "temporal"} {
		if _, err := sweep.Compare(cancelled(), g, g, sweep.CompareOptions{Metric: metric}); !errors.Is(err, context.Canceled) {
			t.Errorf("Compare --metric %s: %v, want context.Canceled", metric, err)
		}
	}
	if _, err := sweep.LoadAlignment(cancelled(), []string{out}, sweep.AlignmentOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("LoadAlignment: %v, want context.Canceled", err)
	}
}
