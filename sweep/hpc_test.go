package sweep_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/sweep"
)

// otherValues returns y with one value changed in a row the Fingerprint does not sample (it
// samples rows 0, n/2 and n-1): other brain data of the same fingerprint.
func otherValues(t *testing.T, y engine.Matrix) engine.Matrix {
	t.Helper()
	v := slices.Clone(y.F64)
	v[1*y.Cols] += 1
	y2 := engine.NewMatrix64(y.Rows, y.Cols, v)
	opts, _ := engine.Defaults(y.Rows)
	opts.Alphas = []float64{1, 100}
	if sweep.Fingerprint(y, opts) != sweep.Fingerprint(y2, opts) || sweep.DataDigest(y, nil) == sweep.DataDigest(y2, nil) {
		t.Fatal("want the same fingerprint and another digest")
	}
	return y2
}

func shardConfig(t *testing.T, out string, p *sweep.Plan, y engine.Matrix, i, n int) sweep.Config {
	cfg := config(t, out, p, y, session(t, y))
	cfg.Shard = sweep.Shard{Index: i, Count: n}
	return cfg
}

// editRecords rewrites every unit record of out through edit.
func editRecords(t *testing.T, out string, p *sweep.Plan, edit func(map[string]any)) {
	t.Helper()
	for _, c := range p.Checkpoints {
		for _, l := range p.Layers {
			path := filepath.Join(out, "units", c.Name, l+".json")
			m := unitJSON(t, out, c.Name, l)
			edit(m)
			b, _ := json.Marshal(m)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Units record the data digest of the brain data they were scored on: with sweep.json removed
// (as an earlier message suggested), units of the old data are neither reused by a shard nor
// counted done by another shard, nor merged.
func TestUnitsKeepDataDigest(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	if d := unitJSON(t, out, "ckpt-1", "layer-0")["data_digest"]; d != sweep.DataDigest(y, nil) {
		t.Fatalf("record's data_digest %v, want %s", d, sweep.DataDigest(y, nil))
	}
	y2 := otherValues(t, y)
	_, err := sweep.Run(context.Background(), config(t, out, p, y2, nil))
	if err == nil || !strings.Contains(err.Error(), "remove the whole folder") || strings.Contains(err.Error(), "remove it") {
		t.Fatalf("rerun on other brain data: %v", err)
	}
	if err := os.Remove(filepath.Join(out, "sweep.json")); err != nil {
		t.Fatal(err)
	}
	// Units 0 and 2 are shard 0's.
	rep, err := sweep.Run(context.Background(), shardConfig(t, out, p, y2, 0, 2))
	if err != nil || rep.Computed != 2 || rep.Skipped != 0 || rep.Remaining != 2 || rep.Merged {
		t.Fatalf("shard 0 on other data, sweep.json removed: %+v %v; want its 2 units scored, 2 of shard 1 not done", rep, err)
	}
	if err := sweep.Merge(out); err == nil || !strings.Contains(err.Error(), "record of other brain data") {
		t.Fatalf("merge with shard 1's units of the old data: %v", err)
	}
	if _, err := sweep.Load(out); !errors.Is(err, sweep.ErrNotMerged) {
		t.Fatalf("Load: %v, want ErrNotMerged", err)
	}
	rep, err = sweep.Run(context.Background(), shardConfig(t, out, p, y2, 1, 2))
	if err != nil || rep.Computed != 2 || !rep.Merged {
		t.Fatalf("shard 1: %+v %v", rep, err)
	}
	// The same tables as a sweep of y2 from scratch.
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := sweep.Run(context.Background(), config(t, fresh, p, y2, nil)); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(out, "scores.npy"))
	b, _ := os.ReadFile(filepath.Join(fresh, "scores.npy"))
	if string(a) != string(b) {
		t.Error("scores.npy differs from a fresh sweep of the new data")
	}
}

// Records of earlier versions (no data digest) are reused when sweep.json, written by such a
// version, vouches for the data (its digest is this run's, or it kept none: a version before
// digests, which reused units on the fingerprint alone, as they are now, with a note), and
// every shard's get the digest; records without one in a folder of this version (sweep.json
// removed and written again, say) are scored again.
func TestRecordsWithoutDataDigest(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	strip := func(m map[string]any) { delete(m, "data_digest") }
	mpath := filepath.Join(out, "sweep.json")
	manifest := func(keys ...string) { // sweep.json as an earlier version wrote it: without keys
		t.Helper()
		var man map[string]any
		b, err := os.ReadFile(mpath)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &man); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			delete(man, k)
		}
		if b, err = json.Marshal(man); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(mpath, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	stamped := func(what string) {
		t.Helper()
		for _, u := range [][2]string{{"ckpt-1", "layer-0"}, {"ckpt-2", "layer-1"}} {
			if d := unitJSON(t, out, u[0], u[1])["data_digest"]; d != sweep.DataDigest(y, nil) {
				t.Fatalf("%s: %s/%s's data_digest %v", what, u[0], u[1], d)
			}
		}
	}

	// The previous version: the digest in sweep.json, none in the records.
	editRecords(t, out, p, strip)
	manifest("records_digest")
	if rep, err := sweep.DryRun(shardConfig(t, out, p, y, 0, 2), false); err != nil || rep.Remaining != 0 || rep.Done != 2 {
		t.Fatalf("dry run of shard 0: %+v %v, want the other shard's records done (the run vouches for them)", rep, err)
	}
	rep, err := sweep.Run(context.Background(), config(t, out, p, y, nil))
	if err != nil || rep.Computed != 0 || rep.Skipped != 4 || rep.Legacy != 4 || rep.LegacyBy != "digest" || !rep.Merged {
		t.Fatalf("rerun over the previous version's records: %+v %v", rep, err)
	}
	stamped("rerun")
	// a shard scoring a unit again while this run stamps the legacy records: its fresh record
	// is kept, not stamped over with the old one
	editRecords(t, out, p, strip)
	manifest("records_digest")
	fresh := []byte("{\"fresh\": true}\n")
	restore := sweep.SetLegacyStamping(func(base string) {
		if strings.HasSuffix(base, filepath.Join("ckpt-2", "layer-1")) {
			if err := os.WriteFile(base+".json", fresh, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
	rep, err = sweep.Run(context.Background(), config(t, out, p, y, nil))
	restore()
	if err != nil || rep.Legacy != 3 || rep.Computed != 1 {
		t.Fatalf("rerun while a unit is scored again: %+v %v, want 3 stamped, the unit of the fresh record (not of this run's kind) scored", rep, err)
	}
	stamped("rerun while a unit is scored again")
	// a merge alone says how to vouch for them; any one shard run again does it for all
	editRecords(t, out, p, strip)
	manifest("records_digest")
	os.Remove(filepath.Join(out, "merged.json"))
	if err := sweep.Merge(out); err == nil || !strings.Contains(err.Error(), "run the sweep again (any one shard") {
		t.Errorf("merge of the previous version's records: %v", err)
	}
	if rep, err := sweep.Run(context.Background(), shardConfig(t, out, p, y, 0, 2)); err != nil || rep.Computed != 0 || rep.Legacy != 4 || !rep.Merged {
		t.Fatalf("shard 0 of 2 over the previous version's records: %+v %v, want every unit kept and merged", rep, err)
	}
	stamped("shard 0 of 2")

	// A version before digests (none in sweep.json either): kept on the fingerprint, said.
	editRecords(t, out, p, strip)
	manifest("records_digest", "data_digest")
	if rep, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil || rep.Computed != 0 || rep.Legacy != 4 || rep.LegacyBy != "fingerprint" {
		t.Fatalf("rerun of a sweep made before digests: %+v %v, want every unit kept", rep, err)
	}
	stamped("rerun of a sweep before digests")

	// This version's folder: records without a digest are not of its runs.
	editRecords(t, out, p, strip)
	if rep, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil || rep.Computed != 4 || rep.Legacy != 0 {
		t.Fatalf("records without digests in this version's folder: %+v %v, want every unit scored again", rep, err)
	}
	// Nor with sweep.json removed, whichever shard runs first.
	editRecords(t, out, p, strip)
	os.Remove(mpath)
	if rep, err := sweep.Run(context.Background(), shardConfig(t, out, p, y, 0, 2)); err != nil || rep.Computed != 2 {
		t.Fatalf("shard 0 after sweep.json was removed: %+v %v", rep, err)
	}
	if rep, err := sweep.Run(context.Background(), shardConfig(t, out, p, y, 1, 2)); err != nil || rep.Computed != 2 || !rep.Merged {
		t.Fatalf("shard 1 after shard 0 wrote sweep.json again: %+v %v, want its units scored again", rep, err)
	}
}

// A merge during which a shard begins scoring a unit again (its activations re-extracted) does
// not record its tables as current, and Run reports that rather than failing; Load refuses the
// tables until the next merge.
func TestMergeOverlappingRescore(t *testing.T) {
	model, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	// While the merge reads the units, ckpt-2/layer-1 is re-extracted and shard 1 of 2 (units 1
	// and 3) starts on it: stopped before scoring it, it leaves its record removed.
	shardStarts := func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if rep, _ := sweep.Run(ctx, shardConfig(t, out, p, y, 1, 2)); rep == nil || rep.Changed != 1 {
			t.Errorf("shard 1: %+v", rep)
		}
	}
	mark := float32(4010)
	reextract := func() {
		mark++
		rewriteLayer(t, filepath.Join(model, "ckpt-2", "layer-1.npy"), td, mark, uint64(mark))
		shardStarts()
	}
	restore := sweep.SetMergeTablesWritten(reextract)
	err := sweep.Merge(out)
	restore()
	if !errors.Is(err, sweep.ErrUnitsChanged) {
		t.Fatalf("merge overlapping a rescoring shard: %v, want ErrUnitsChanged", err)
	}
	if _, err := os.Stat(filepath.Join(out, "merged.json")); err == nil {
		t.Error("merged.json written")
	}
	for _, open := range []func(string) (*sweep.Sweep, error){sweep.Load, sweep.OpenScores} {
		if s, err := open(out); !errors.Is(err, sweep.ErrNotMerged) {
			if s != nil {
				s.Close()
			}
			t.Errorf("tables read after the overlapped merge: %v", err)
		}
	}

	// Shard 1 scores it and merges. Then shard 0, with nothing to score, merges again (a merge
	// that did not finish), while the layer is re-extracted once more and shard 1 starts on it:
	// shard 0's tables are not current, and that is no error of shard 0's.
	if rep, err := sweep.Run(context.Background(), shardConfig(t, out, p, y, 1, 2)); err != nil || !rep.Merged {
		t.Fatalf("shard 1: %+v %v", rep, err)
	}
	os.Remove(filepath.Join(out, "merged.json"))
	restore = sweep.SetMergeTablesWritten(reextract)
	rep, err := sweep.Run(context.Background(), shardConfig(t, out, p, y, 0, 2))
	restore()
	if err != nil || rep.Merged || !rep.MergeRaced {
		t.Fatalf("shard 0 merging while shard 1 rescores: %+v %v, want MergeRaced and no error", rep, err)
	}
	if rep, err := sweep.Run(context.Background(), shardConfig(t, out, p, y, 1, 2)); err != nil || rep.Computed != 1 || !rep.Merged {
		t.Fatalf("shard 1 then: %+v %v", rep, err)
	}
	s, err := sweep.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// Tables recorded as merged are not read when a unit's record is gone since (a merge that
// overlapped the start of a unit's rescoring).
func TestLoadChecksUnitRecords(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(out, "units", "ckpt-2", "layer-0.json")); err != nil {
		t.Fatal(err)
	}
	for name, open := range map[string]func(string) (*sweep.Sweep, error){"Load": sweep.Load, "OpenScores": sweep.OpenScores} {
		if s, err := open(out); !errors.Is(err, sweep.ErrNotMerged) {
			if s != nil {
				s.Close()
			}
			t.Errorf("%s with a unit's record gone: %v, want ErrNotMerged", name, err)
		}
	}
}

// A shard that finds another shard's unit re-extracted leaves the tables not current at once
// (the analyses refuse them), and says so; a merge of the units as recorded refuses the
// changed unit.
func TestShardSeesOtherShardsChangedUnit(t *testing.T) {
	model, p, y, out := newSweep(t, []int{1, 2}, 2)
	for i := range 2 {
		if _, err := sweep.Run(context.Background(), shardConfig(t, out, p, y, i, 2)); err != nil {
			t.Fatal(err)
		}
	}
	rewriteLayer(t, filepath.Join(model, "ckpt-2", "layer-1.npy"), td, 4011, 5) // unit 3, shard 1's
	rep, err := sweep.Run(context.Background(), shardConfig(t, out, p, y, 0, 2))
	if err != nil || rep.Merged || rep.Remaining != 1 || rep.StaleElsewhere != 1 {
		t.Fatalf("shard 0: %+v %v, want 1 unit of shard 1 stale", rep, err)
	}
	if s, err := sweep.Load(out); !errors.Is(err, sweep.ErrNotMerged) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Load after shard 0 saw shard 1's unit changed: %v", err)
	}
	if st, err := sweep.ReadStatusQuick(out); err != nil || st.Current {
		t.Errorf("quick status: %+v %v, want not current", st, err)
	}
	err = sweep.Merge(out)
	if err == nil || !strings.Contains(err.Error(), "activations of 1 of 4 units changed") || !strings.Contains(err.Error(), "layer-1.npy: size") && !strings.Contains(err.Error(), "layer-1.npy: modified") {
		t.Fatalf("merge of a unit whose activations changed: %v", err)
	}
	if rep, err := sweep.Run(context.Background(), shardConfig(t, out, p, y, 1, 2)); err != nil || rep.Computed != 1 || !rep.Merged {
		t.Fatalf("shard 1: %+v %v", rep, err)
	}
	// Activations moved away (or deleted once scored) are not checked by a merge.
	if err := os.Rename(model, model+"-moved"); err != nil {
		t.Fatal(err)
	}
	if err := sweep.Merge(out); err != nil {
		t.Fatalf("merge with the activations moved: %v", err)
	}
}

// A merge of a sweep whose other shards have not run says so (units missing their records do not
// make the merge's stamp fail first).
func TestMergeOfUnfinishedSweep(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if rep, err := sweep.Run(context.Background(), shardConfig(t, out, p, y, 0, 2)); err != nil || rep.Merged {
		t.Fatalf("shard 0 of 2: %+v %v", rep, err)
	}
	if err := sweep.Merge(out); err == nil || !strings.Contains(err.Error(), "2 of 4 units are not done") {
		t.Errorf("merge of half the units: %v", err)
	}
}
