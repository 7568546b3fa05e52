package sweep_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/sweep"
)

// rewriteLayer replaces a .npy layer with new data of the given width, first value mark, and
// a modification time that differs from the old one whatever the file system's resolution.
func rewriteLayer(t *testing.T, path string, cols int, mark float32, seed uint64) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	x := make([]float32, tn*cols)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	x[0] = mark
	if err := array.WriteNPY(path, []int{tn, cols}, x); err != nil {
		t.Fatal(err)
	}
	later := st.ModTime().Add(3 * time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
}

// unitScores reads every unit's .scores.npy.
func unitScores(t *testing.T, out string, p *sweep.Plan) map[string][]float64 {
	t.Helper()
	m := map[string][]float64{}
	for _, c := range p.Checkpoints {
		for _, l := range p.Layers {
			a, err := array.ReadNPY(filepath.Join(out, "units", c.Name, l+".scores.npy"))
			if err != nil {
				t.Fatal(err)
			}
			m[c.Name+"/"+l] = slices.Clone(a.F64)
			a.Close()
		}
	}
	return m
}

func unitJSON(t *testing.T, out, ck, ly string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "units", ck, ly+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Re-extracted activations (same shape with new data, or another feature count) are scored
// again on restart; the other units are reused.
func TestResumeRecomputesChangedActivations(t *testing.T) {
	model, p, y, out := newSweep(t, []int{10, 100}, 3)
	if rep, err := sweep.Run(context.Background(), config(t, out, p, y, session(t, y))); err != nil || rep.Computed != 6 {
		t.Fatalf("first run: %+v %v", rep, err)
	}
	rec := unitJSON(t, out, "ckpt-10", "layer-1")
	in, _ := rec["input"].(map[string]any)
	abs, _ := filepath.Abs(filepath.Join(model, "ckpt-10", "layer-1.npy"))
	abs, _ = filepath.EvalSymlinks(abs)
	if in == nil || in["path"] != abs || in["size"] == nil || in["mtime"] == nil || fmt.Sprint(in["shape"]) != fmt.Sprint([]any{float64(tn), float64(td)}) || in["dtype"] != "float32" {
		t.Errorf("unit record's input: %v, want path %s, size, mtime, shape [%d %d], dtype float32", rec["input"], abs, tn, td)
	}
	before := unitScores(t, out, p)
	table1, _ := os.ReadFile(filepath.Join(out, "scores.npy"))

	// New data, same shape: the size stays, the modification time does not.
	rewriteLayer(t, filepath.Join(model, "ckpt-10", "layer-1.npy"), td, 2001, 1)
	// Another feature count.
	rewriteLayer(t, filepath.Join(model, "ckpt-100", "layer-2.npy"), td+3, 2012, 2)

	s2 := session(t, y)
	rep, err := sweep.Run(context.Background(), config(t, out, p, y, s2))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Computed != 2 || rep.Skipped != 4 || rep.Changed != 2 || len(rep.Redone) != 2 || !rep.Merged {
		t.Fatalf("after re-extraction: %+v, want 2 recomputed, 4 reused", rep)
	}
	for _, r := range rep.Redone {
		if !strings.Contains(r, "activations changed") {
			t.Errorf("reason %q does not say the activations changed", r)
		}
	}
	if !strings.Contains(strings.Join(rep.Redone, "\n"), "shape [60 9], was [60 6]") {
		t.Errorf("reasons %q do not name the new shape", rep.Redone)
	}
	if fmt.Sprint(s2.scored) != fmt.Sprint([]float64{2001, 2012}) {
		t.Errorf("rescored %v, want the two changed layers (2001, 2012)", s2.scored)
	}
	after := unitScores(t, out, p)
	for k, v := range after {
		changed := k == "ckpt-10/layer-1" || k == "ckpt-100/layer-2"
		if changed == slices.Equal(v, before[k]) {
			t.Errorf("unit %s: scores changed %v, want %v", k, !changed, changed)
		}
	}
	if f := unitJSON(t, out, "ckpt-100", "layer-2")["features"]; f != float64(td+3) {
		t.Errorf("record of the widened layer: %v features, want %d", f, td+3)
	}
	table2, _ := os.ReadFile(filepath.Join(out, "scores.npy"))
	if string(table1) == string(table2) {
		t.Error("scores.npy unchanged after two layers changed")
	}
	// Nothing changed since: nothing is scored.
	s3 := session(t, y)
	if rep, err := sweep.Run(context.Background(), config(t, out, p, y, s3)); err != nil || rep.Computed != 0 || rep.Changed != 0 || len(s3.scored) != 0 {
		t.Errorf("third run: %+v %v", rep, err)
	}
	// The same files through another path to them (a relative one) are the same source.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, model)
	if err == nil {
		p2, err := sweep.Discover(rel, "model")
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := sweep.Run(context.Background(), config(t, out, p2, y, session(t, y))); err != nil || rep.Computed != 0 {
			t.Errorf("relative path: %+v %v", rep, err)
		}
	}
	// The folder moved (its files keep their size and time) keeps its units ...
	moved := model + "-moved"
	if err := os.Rename(model, moved); err != nil {
		t.Fatal(err)
	}
	p3, err := sweep.Discover(moved, "model")
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := sweep.Run(context.Background(), config(t, out, p3, y, session(t, y))); err != nil || rep.Computed != 0 || rep.Changed != 0 {
		t.Errorf("moved folder: %+v %v, want every unit reused", rep, err)
	}
	// ... a copy with new times (cp without -p) is scored again.
	layer := p3.Checkpoints[0].Layers[0].Path
	b, err := os.ReadFile(layer)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(layer)
	if err := os.WriteFile(layer, b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(layer, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	if err := os.Rename(moved, model); err != nil {
		t.Fatal(err)
	}
	if rep, err := sweep.Run(context.Background(), config(t, out, p, y, session(t, y))); err != nil || rep.Changed != 1 ||
		!strings.Contains(strings.Join(rep.Redone, ""), "modified") {
		t.Errorf("a layer rewritten with a new time, back at the first path: %+v %v, want it (only) scored again", rep, err)
	}
}

// In a bundle, the bundle's size and time stand for every member: re-saving a checkpoint's
// .npz rescores its layers, not the other checkpoint's.
func TestResumeRecomputesChangedBundle(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	os.MkdirAll(run, 0o755)
	save := func(c, cols int, mark float64) {
		var arrs []*array.Array
		for l := 0; l < 3; l++ {
			x := randomActs(uint64(100*mark)+uint64(l), mark+float64(l))
			f32 := make([]float32, tn*cols)
			for i := range f32 {
				f32[i] = float32(x.F64[i%len(x.F64)])
			}
			f32[0] = float32(mark + float64(l))
			arrs = append(arrs, &array.Array{Name: fmt.Sprintf("blocks.%d.mlp.fc2", l), Shape: []int{tn, cols}, F32: f32})
		}
		path := filepath.Join(run, fmt.Sprintf("ckpt-%d.npz", c))
		st, statErr := os.Stat(path)
		if err := array.WriteNPZ(path, arrs); err != nil {
			t.Fatal(err)
		}
		if statErr == nil {
			later := st.ModTime().Add(3 * time.Second)
			os.Chtimes(path, later, later)
		}
	}
	save(1, td, 100)
	save(2, td, 200)
	y := writeModel(t, t.TempDir(), []int{1}, 0)
	p, err := sweep.Discover(run, "")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if rep, err := sweep.Run(context.Background(), config(t, out, p, y, session(t, y))); err != nil || rep.Computed != 6 {
		t.Fatalf("first run: %+v %v", rep, err)
	}
	save(2, td+1, 300)
	if p, err = sweep.Discover(run, ""); err != nil {
		t.Fatal(err)
	}
	s := session(t, y)
	rep, err := sweep.Run(context.Background(), config(t, out, p, y, s))
	if err != nil || rep.Computed != 3 || rep.Skipped != 3 || rep.Changed != 3 {
		t.Fatalf("after re-saving ckpt-2: %+v %v, want its 3 layers recomputed", rep, err)
	}
	if fmt.Sprint(s.scored) != fmt.Sprint([]float64{300, 301, 302}) {
		t.Errorf("rescored %v, want ckpt-2's new layers", s.scored)
	}
}

// Records written before sources were recorded (no "input") are reused unless their feature
// count no longer matches.
func TestResumeOldRecords(t *testing.T) {
	model, p, y, out := newSweep(t, []int{10}, 3)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, session(t, y))); err != nil {
		t.Fatal(err)
	}
	for _, ly := range p.Layers {
		rec := unitJSON(t, out, "ckpt-10", ly)
		delete(rec, "input")
		b, _ := json.Marshal(rec)
		os.WriteFile(filepath.Join(out, "units", "ckpt-10", ly+".json"), b, 0o644)
	}
	rewriteLayer(t, filepath.Join(model, "ckpt-10", "layer-0.npy"), td, 3000, 3)   // undetectable
	rewriteLayer(t, filepath.Join(model, "ckpt-10", "layer-2.npy"), td+1, 3002, 4) // features differ
	s := session(t, y)
	rep, err := sweep.Run(context.Background(), config(t, out, p, y, s))
	if err != nil || rep.Computed != 1 || rep.Skipped != 2 || rep.Changed != 1 {
		t.Fatalf("old records: %+v %v, want only the layer with another feature count recomputed", rep, err)
	}
	if fmt.Sprint(s.scored) != "[3002]" || !strings.Contains(rep.Redone[0], "7 features, was 6") {
		t.Errorf("rescored %v (%q)", s.scored, rep.Redone)
	}
}

// Shards: a shard does not merge while another shard's unit is stale; that shard rescores it
// and merges.
func TestResumeShardsWithChangedActivations(t *testing.T) {
	model, p, y, out := newSweep(t, []int{1, 2}, 2)
	shard := func(i int) (*sweep.Report, *countingSession) {
		s := session(t, y)
		cfg := config(t, out, p, y, s)
		cfg.Shard = sweep.Shard{Index: i, Count: 2}
		rep, err := sweep.Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return rep, s
	}
	shard(0)
	if rep, _ := shard(1); !rep.Merged {
		t.Fatalf("second shard did not merge: %+v", rep)
	}
	// Units 0..3 are ckpt-1/layer-0, ckpt-1/layer-1, ckpt-2/layer-0, ckpt-2/layer-1; shard 1
	// holds units 1 and 3.
	rewriteLayer(t, filepath.Join(model, "ckpt-2", "layer-1.npy"), td, 4011, 5)
	if rep, s := shard(0); rep.Computed != 0 || rep.Merged || rep.Remaining != 1 || len(s.scored) != 0 {
		t.Errorf("shard 0 after shard 1's layer changed: %+v, want nothing scored, 1 remaining, no merge", rep)
	}
	if rep, s := shard(1); rep.Computed != 1 || rep.Changed != 1 || !rep.Merged || fmt.Sprint(s.scored) != "[4011]" {
		t.Errorf("shard 1: %+v scored %v, want the changed unit rescored and merged", rep, s.scored)
	}
	if err := sweep.Merge(out); err != nil {
		t.Errorf("merge: %v", err)
	}
	sw, err := sweep.Load(out)
	if err != nil || sw.C != 2 || sw.L != 2 {
		t.Errorf("Load: %+v %v", sw, err)
	}
}

// An output folder swept with the layers in another order (as versions that sorted by the last
// number did) is refused, saying so: its tables' layer depths would differ.
func TestResumeRefusesOtherLayerOrder(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1}, 3)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(out, "sweep.json"))
	b = []byte(strings.Replace(string(b), `"layer-0",
    "layer-1"`, `"layer-1",
    "layer-0"`, 1))
	os.WriteFile(filepath.Join(out, "sweep.json"), b, 0o644)
	_, err := sweep.Run(context.Background(), config(t, out, p, y, nil))
	if err == nil || !strings.Contains(err.Error(), "same layers in another order") {
		t.Errorf("sweep.json with the layers in another order: %v", err)
	}
}

// Another model's files of the same size and modification time (an unpacked archive, a coarse
// file-system clock) at another path are other activations: every unit is scored again.
func TestResumeOtherFilesSameSizeAndTime(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	y := writeModel(t, a, []int{10, 100}, 2)
	os.MkdirAll(b, 0o755)
	stamp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, ck := range []string{"ckpt-10", "ckpt-100"} {
		os.MkdirAll(filepath.Join(b, ck), 0o755)
		for l := 0; l < 2; l++ {
			x := make([]float32, tn*td)
			for i := range x {
				x[i] = float32((i*13+l*7)%17) - 8
			}
			pb := filepath.Join(b, ck, fmt.Sprintf("layer-%d.npy", l))
			if err := array.WriteNPY(pb, []int{tn, td}, x); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(pb, stamp, stamp)
			os.Chtimes(filepath.Join(a, ck, fmt.Sprintf("layer-%d.npy", l)), stamp, stamp)
		}
	}
	out := filepath.Join(dir, "out")
	pa, err := sweep.Discover(a, "m")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.Run(context.Background(), config(t, out, pa, y, session(t, y))); err != nil {
		t.Fatal(err)
	}
	pb, err := sweep.Discover(b, "m")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sweep.Run(context.Background(), config(t, out, pb, y, session(t, y)))
	if err != nil || rep.Computed != 4 || rep.Changed != 4 {
		t.Errorf("another model's same-sized, same-time files: %+v %v, want all 4 units scored again", rep, err)
	}
}

// A unit's values damaged after it was recorded done (its header intact) are found by the
// merge, which reads them: the unit is forgotten, and the next run scores it again and merges.
// (Restarts check the units' headers and sizes only, not their values.)
func TestMergeForgetsDamagedUnit(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1, 2}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(out, "scores.npy"))
	bad := filepath.Join(out, "units", "ckpt-2", "layer-0.fold_scores.npy")
	a, err := array.ReadNPY(bad)
	if err != nil {
		t.Fatal(err)
	}
	vals := slices.Clone(a.F64)
	shape := slices.Clone(a.Shape)
	a.Close()
	vals[3] = math.NaN()
	if err := array.WriteNPY(bad, shape, vals); err != nil {
		t.Fatal(err)
	}
	err = sweep.Merge(out)
	if err == nil || !strings.Contains(err.Error(), bad+": non-finite value NaN at element 3") || !strings.Contains(err.Error(), "run the sweep again") {
		t.Fatalf("merge of a damaged unit: %v", err)
	}
	s := session(t, y)
	rep, err := sweep.Run(context.Background(), config(t, out, p, y, s))
	if err != nil || rep.Computed != 1 || rep.Skipped != 3 || !rep.Merged || fmt.Sprint(s.scored) != "[1010]" {
		t.Fatalf("run after the merge forgot the unit: %+v %v, scored %v", rep, err, s.scored)
	}
	if again, _ := os.ReadFile(filepath.Join(out, "scores.npy")); string(again) != string(first) {
		t.Error("scores.npy differs from the first run's")
	}
}

// A rerun with nothing to score leaves current tables as they are (a merge reads every unit's
// arrays), and merges again when what the tables hold changed: a unit scored again, other
// metadata, a merge that did not finish, a table removed.
func TestRerunMergesOnlyWhatChanged(t *testing.T) {
	model, p, y, out := newSweep(t, []int{1, 2}, 2)
	run := func(cfg sweep.Config) *sweep.Report {
		t.Helper()
		rep, err := sweep.Run(context.Background(), cfg)
		if err != nil || !rep.Merged {
			t.Fatalf("run: %+v %v", rep, err)
		}
		return rep
	}
	table := filepath.Join(out, "table.csv")
	mtime := func() time.Time {
		st, err := os.Stat(table)
		if err != nil {
			t.Fatal(err)
		}
		return st.ModTime()
	}
	// Tables rewritten by a run get a time after this one's mark.
	mark := func() time.Time {
		t.Helper()
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(table, old, old); err != nil {
			t.Fatal(err)
		}
		return old
	}
	if rep := run(config(t, out, p, y, nil)); rep.UpToDate || rep.Computed != 4 {
		t.Fatalf("first run: %+v", rep)
	}
	old := mark()
	if rep := run(config(t, out, p, y, nil)); !rep.UpToDate || rep.Computed != 0 || !mtime().Equal(old) {
		t.Errorf("rerun with nothing to score: %+v, table rewritten %v", rep, !mtime().Equal(old))
	}

	// Other ROI names: merged again, and table.csv names the new ROI.
	cfg := config(t, out, p, y, nil)
	cfg.Meta.ROINames = map[int]string{0: "V1", 1: "LOC"}
	mark()
	if rep := run(cfg); rep.UpToDate || mtime().Equal(old) {
		t.Errorf("rerun with other metadata: %+v, table rewritten %v", rep, !mtime().Equal(old))
	}
	if b, _ := os.ReadFile(table); !strings.Contains(string(b), "roi_LOC") {
		t.Errorf("table.csv after the ROI was renamed:\n%s", b)
	}

	// A merge that did not finish (merged.json is written last), a removed table.
	for _, remove := range []string{"merged.json", "fold_scores.npy"} {
		old = mark()
		os.Remove(filepath.Join(out, remove))
		if rep := run(cfg); rep.UpToDate || mtime().Equal(old) {
			t.Errorf("after removing %s: %+v, table rewritten %v", remove, rep, !mtime().Equal(old))
		}
	}

	// A unit scored again by another shard: the shard that merges next sees its new record.
	rewriteLayer(t, filepath.Join(model, "ckpt-2", "layer-1.npy"), td, 4011, 5)
	shard := func(i int) sweep.Config {
		c := config(t, out, p, y, nil)
		c.Meta.ROINames = cfg.Meta.ROINames
		c.Shard = sweep.Shard{Index: i, Count: 2}
		return c
	}
	// Units 1 and 3 are shard 1's: ckpt-2/layer-1 is unit 3. Shard 1 rescores and merges.
	if rep, err := sweep.Run(context.Background(), shard(1)); err != nil || rep.Computed != 1 || !rep.Merged || rep.UpToDate {
		t.Fatalf("shard 1 with a changed unit: %+v %v", rep, err)
	}
	first, _ := os.ReadFile(filepath.Join(out, "scores.npy"))
	// Shard 0, with nothing to score, finds the tables current.
	if rep, err := sweep.Run(context.Background(), shard(0)); err != nil || !rep.UpToDate {
		t.Fatalf("shard 0 afterwards: %+v %v", rep, err)
	}
	// The merged scores hold the rescored unit: the same as a fresh merge.
	if err := sweep.Merge(out); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(out, "scores.npy")); string(again) != string(first) {
		t.Error("the tables left in place differ from a fresh merge")
	}
}

// Tables merged before a unit's activations changed are not read as the sweep's scores, even
// when the run that noticed the change stopped before rescoring it: Load says the sweep is not
// merged until a run (or --merge-only) merges it again.
func TestLoadRefusesStaleTables(t *testing.T) {
	model, plan, y, out := newSweep(t, []int{10, 20}, 3)
	if _, err := sweep.Run(context.Background(), config(t, out, plan, y, nil)); err != nil {
		t.Fatal(err)
	}
	s, err := sweep.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rewriteLayer(t, filepath.Join(model, "ckpt-20", "layer-2.npy"), 4, 9, 7)
	plan2, err := sweep.Discover(model, "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stops before scoring the changed unit
	if rep, _ := sweep.Run(ctx, config(t, out, plan2, y, nil)); rep == nil || rep.Changed != 1 {
		t.Fatalf("rerun: %+v", rep)
	}
	if s, err := sweep.Load(out); err == nil || !errors.Is(err, sweep.ErrNotMerged) || !strings.Contains(err.Error(), "tables are older than its units") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Load after a unit's activations changed: %v, want ErrNotMerged", err)
	}
	if _, err := sweep.Run(context.Background(), config(t, out, plan2, y, nil)); err != nil {
		t.Fatal(err)
	}
	s, err = sweep.Load(out)
	if err != nil {
		t.Fatalf("Load after the rerun: %v", err)
	}
	s.Close()
}

// A rerun that rewrites what merged.json vouches for (sweep.json: new --steps; meta/: an ROI
// renamed, a noise ceiling added) removes merged.json before it writes them: a run killed once
// they are written, before it merges, leaves tables that the next reader finds not current
// (they hold the old steps, ROI columns, no ceiled columns), not merged ones. A rerun that
// changes none of them leaves merged.json in place throughout.
func TestMetadataRewriteKilledLeavesTablesNotCurrent(t *testing.T) {
	_, plan, y, out := newSweep(t, []int{10, 20}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, plan, y, nil)); err != nil {
		t.Fatal(err)
	}
	// current reports what a reader finds: whether Load reads the tables as the sweep's, and
	// whether ReadStatusQuick (sweep status over many folders) calls them current; both go by
	// merged.json's presence, not its stamp.
	current := func() (loaded, status bool) {
		s, err := sweep.Load(out)
		if err == nil {
			s.Close()
		} else if !errors.Is(err, sweep.ErrNotMerged) {
			t.Fatalf("Load: %v", err)
		}
		st, serr := sweep.ReadStatusQuick(out)
		if serr != nil {
			t.Fatal(serr)
		}
		return err == nil, st.Current
	}
	steps := func(v ...float64) *sweep.Plan {
		p := *plan
		p.Checkpoints = slices.Clone(plan.Checkpoints)
		if err := p.SetSteps(v); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	// Each rerun changes one thing more than the one before.
	cfg := config(t, out, plan, y, nil)
	for _, tc := range []struct {
		name   string
		change func(*sweep.Config)
	}{
		{"the same run", nil},
		{"an ROI renamed", func(c *sweep.Config) { c.Meta.ROINames = map[int]string{0: "V1", 1: "LOC"} }},
		{"a ceiling added", func(c *sweep.Config) { c.Meta.Ceiling = []float64{0.5, 0.6, 0.7, 0.8, 0.9} }},
		{"new steps", func(c *sweep.Config) { c.Plan = steps(100, 200) }},
		{"the same run again", nil},
	} {
		changed := tc.change != nil
		if changed {
			tc.change(&cfg)
		}
		var loaded, status, called bool
		restore := sweep.SetMetadataWritten(func() { called = true; loaded, status = current() })
		rep, err := sweep.Run(context.Background(), cfg)
		restore()
		if err != nil || !rep.Merged || rep.UpToDate == changed {
			t.Fatalf("%s: %+v %v", tc.name, rep, err)
		}
		if !called {
			t.Fatalf("%s: the kill point was not reached", tc.name)
		}
		if loaded == changed || status == changed {
			t.Errorf("%s, killed once sweep.json and meta/ were written: Load reads the tables %v, ReadStatusQuick calls them current %v; want %v",
				tc.name, loaded, status, !changed)
		}
		if loaded, status := current(); !loaded || !status {
			t.Errorf("%s, once the run ended: Load reads the tables %v, ReadStatusQuick calls them current %v", tc.name, loaded, status)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "table.csv")); !strings.Contains(string(b), "ceiled_roi_LOC") || !strings.Contains(string(b), ",ckpt-20,200,") {
		t.Errorf("table.csv after the reruns, with a ceiling, LOC and steps 100 and 200:\n%s", b)
	}
}

// A merge of checkpoints without steps removes the steps.npy of an earlier merge with steps.
func TestMergeRemovesStaleSteps(t *testing.T) {
	_, plan, y, out := newSweep(t, []int{10, 20}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, plan, y, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "steps.npy")); err != nil {
		t.Fatal(err)
	}
	for i := range plan.Checkpoints {
		plan.Checkpoints[i].HasStep = false
	}
	if _, err := sweep.Run(context.Background(), config(t, out, plan, y, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "steps.npy")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("steps.npy after a merge without steps: %v", err)
	}
}
