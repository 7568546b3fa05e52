package sweep_test

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/sweep"
)

// snapshot lists every file under dir with its size and modification time ("" for no dir).
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s\n", p, info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func dryRun(t *testing.T, cfg sweep.Config, scan bool) *sweep.DryRunReport {
	t.Helper()
	before := snapshot(t, cfg.Dir)
	rep, err := sweep.DryRun(cfg, scan)
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, cfg.Dir); after != before {
		t.Fatalf("the dry run changed %s:\nbefore\n%s\nafter\n%s", cfg.Dir, before, after)
	}
	return rep
}

// A dry run predicts what Run then does (units reused, scored, scored again, other shards'
// units left), across shards and after activations change, and writes nothing.
func TestDryRunPredictsRun(t *testing.T) {
	model, p, y, out := newSweep(t, []int{1, 2}, 3)
	cfg := config(t, out, p, y, nil)
	cfg.Session = nil // a dry run needs no engine

	rep := dryRun(t, cfg, true)
	if rep.Units != 6 || rep.Shard != 6 || rep.Done != 0 || rep.ToScore != 6 || rep.Existing || rep.Checked != 6 ||
		len(rep.Problems) != 0 || len(rep.Timed) != 0 {
		t.Fatalf("new sweep: %+v", rep)
	}
	for _, l := range rep.Layers {
		if l.MinFeatures != td || l.MaxFeatures != td || !slices.Equal(l.DTypes, []string{"float32"}) {
			t.Errorf("layer %+v, want %d features, float32", l, td)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("the dry run created %s", out)
	}

	shard := func(i int) sweep.Config {
		c := config(t, out, p, y, session(t, y))
		c.Shard = sweep.Shard{Index: i, Count: 2}
		return c
	}
	if _, err := sweep.Run(context.Background(), shard(0)); err != nil {
		t.Fatal(err)
	}
	c1 := shard(1)
	rep = dryRun(t, c1, false)
	if rep.Shard != 3 || rep.Done != 0 || rep.ToScore != 3 || rep.Remaining != 0 || !rep.Existing ||
		len(rep.Timed) != 1 || rep.Timed[0].Units != 3 || rep.Timed[0].Seconds <= 0 {
		t.Fatalf("shard 1 after shard 0: %+v", rep)
	}
	if rep0 := dryRun(t, shard(0), false); rep0.Done != 3 || rep0.ToScore != 0 || rep0.Remaining != 3 {
		t.Fatalf("shard 0 after shard 0: %+v", rep0)
	}
	run, err := sweep.Run(context.Background(), c1)
	if err != nil {
		t.Fatal(err)
	}
	if run.Computed != rep.ToScore || run.Skipped != rep.Done || !run.Merged {
		t.Fatalf("run %+v after dry run %+v", run, rep)
	}

	// Changed activations: to score again, and the dry run leaves the old record in place.
	rewriteLayer(t, filepath.Join(model, "ckpt-2", "layer-1.npy"), td, 4011, 5)
	whole := config(t, out, p, y, session(t, y))
	rep = dryRun(t, whole, false)
	if rep.Done != 5 || rep.ToScore != 1 || len(rep.Redo) != 1 || !strings.HasPrefix(rep.Redo[0], "ckpt-2/layer-1: activations changed") ||
		len(rep.Timed) != 1 || rep.Timed[0].Units != 5 {
		t.Fatalf("after a layer changed: %+v", rep)
	}
	if run, err = sweep.Run(context.Background(), whole); err != nil || run.Computed != 1 || run.Changed != 1 {
		t.Fatalf("run after the change: %+v %v", run, err)
	}

	// Another grid: the folder holds another sweep, as Run says.
	other := config(t, out, p, y, nil)
	other.Options.Alphas = []float64{1, 10, 100}
	other.Fingerprint = sweep.Fingerprint(y, other.Options)
	if _, err := sweep.DryRun(other, false); err == nil || !strings.Contains(err.Error(), "holds a sweep of other options: --alphas 1,100, now 1,10,100 (fingerprint") {
		t.Errorf("dry run into another sweep's folder: %v", err)
	}
	// Standardised features and another precision: both named
	other = config(t, out, p, y, nil)
	other.Options.Standardize, other.Options.Precision = true, engine.Float64
	other.Fingerprint = sweep.Fingerprint(y, other.Options)
	if _, err := sweep.DryRun(other, false); err == nil || !strings.Contains(err.Error(), "holds a sweep of other options: --standardize off, now on; --precision float32, now float64 (fingerprint") {
		t.Errorf("dry run into another sweep's folder: %v", err)
	}
	// Folds of the same sizes by another scheme (a shuffle), and other targets (another
	// --brain-mask): what differs is named
	other = config(t, out, p, y, nil)
	other.FoldScheme = "KFold(shuffle=True, random_state=1)"
	other.Fingerprint = "0123456789abcdef"
	if _, err := sweep.DryRun(other, false); err == nil || !strings.Contains(err.Error(), "holds a sweep of other options: folds by kfold (contiguous, unshuffled), now by KFold(shuffle=True, random_state=1) (fingerprint") {
		t.Errorf("dry run into the folder of a sweep of other folds: %v", err)
	}
	other = config(t, out, p, y, nil)
	other.Trailing, other.Meta = []int{y.Cols - 2}, sweep.Meta{}
	other.Fingerprint = "0123456789abcdef"
	if _, err := sweep.DryRun(other, false); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("holds a sweep of other brain data: %d rows x targets shaped [%d], now %d x [%d] (fingerprint", y.Rows, y.Cols, y.Rows, y.Cols-2)) {
		t.Errorf("dry run into the folder of a sweep of other targets: %v", err)
	}
	// other rows (another id matching: other fold sizes, which follow) and another option: both
	// are named, the fold sizes not
	other = config(t, out, p, y, nil)
	other.Rows, other.Options.Standardize = y.Rows-5, true
	other.Options.Folds = other.Options.Folds[:len(other.Options.Folds)-1]
	other.Fingerprint = "0123456789abcdef"
	if _, err := sweep.DryRun(other, false); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("holds a sweep of other brain data: %d rows x targets shaped [%d], now %d x [%d], and other options: --standardize off, now on (fingerprint", y.Rows, y.Cols, y.Rows-5, y.Cols)) {
		t.Errorf("dry run into the folder of a sweep of other rows and options: %v", err)
	}
	// Other brain data of the same shape and options: not options
	other = config(t, out, p, y, nil)
	other.Fingerprint, other.DataDigest = "0123456789abcdef", "fedcba9876543210"
	if _, err := sweep.DryRun(other, false); err == nil || !strings.Contains(err.Error(), "holds a sweep of other brain data or options (fingerprint") {
		t.Errorf("dry run into another sweep's folder: %v", err)
	}
	// The same data and options, folds of the same sizes and scheme but other rows in them (an
	// edited --groups file, or groups dealt otherwise by an earlier version): the folds are named
	other = config(t, out, p, y, nil)
	folds := slices.Clone(other.Options.Folds)
	a, b := folds[0].Test[0], folds[1].Test[0] // one held-out row exchanged: the sizes stay
	folds[0] = foldOf(y.Rows, append(slices.Clone(folds[0].Test[1:]), b))
	folds[1] = foldOf(y.Rows, append(slices.Clone(folds[1].Test[1:]), a))
	other.Options.Folds = folds
	other.Fingerprint = sweep.Fingerprint(y, other.Options)
	if _, err := sweep.DryRun(other, false); err == nil || !strings.Contains(err.Error(),
		"holds a sweep of the same brain data and options whose folds hold other rows (folds by kfold (contiguous, unshuffled): a --groups, --test-fold or --test-ids file changed since") {
		t.Errorf("dry run into the folder of a sweep of the same fold sizes, other rows: %v", err)
	}
}

// foldOf is the fold of n rows that holds out test (sorted here).
func foldOf(n int, test []int) engine.Fold {
	slices.Sort(test)
	f := engine.Fold{Test: test}
	for i := 0; i < n; i++ {
		if !slices.Contains(test, i) {
			f.Train = append(f.Train, i)
		}
	}
	return f
}

// Every unit that cannot be scored is listed, naming its file; values only with scanValues;
// and Run does stop on them.
func TestDryRunFindsBadInputs(t *testing.T) {
	model, _, y, out := newSweep(t, []int{1, 2, 3}, 4)
	write := func(ck, layer string, shape []int, data any) string {
		p := filepath.Join(model, ck, layer+".npy")
		if err := array.WriteNPY(p, shape, data); err != nil {
			t.Fatal(err)
		}
		return p
	}
	short := write("ckpt-1", "layer-1", []int{tn - 1, td}, make([]float32, (tn-1)*td))
	bools := write("ckpt-1", "layer-2", []int{tn, td}, make([]bool, tn*td)) // integers are scored (converted), bools not
	cube := write("ckpt-2", "layer-0", []int{tn, td, 2}, make([]float32, tn*td*2))
	nan := make([]float32, tn*td)
	nan[7*td+3] = float32(math.NaN())
	nanPath := write("ckpt-2", "layer-3", []int{tn, td}, nan)
	truncated := filepath.Join(model, "ckpt-3", "layer-2.npy")
	if err := os.Truncate(truncated, 200); err != nil {
		t.Fatal(err)
	}
	p, err := sweep.Discover(model, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config(t, out, p, y, nil)

	want := map[string]string{short: "59 rows, but the brain data Y.npy has 60", bools: "dtype bool: activations must be numbers", cube: "must be 2-d", truncated: truncated}
	check := func(rep *sweep.DryRunReport, want map[string]string) {
		t.Helper()
		if rep.Checked != 12 || len(rep.Problems) != len(want) {
			t.Errorf("%d units checked, problems:\n%s\nwant %d", rep.Checked, strings.Join(rep.Problems, "\n"), len(want))
		}
		for path, w := range want {
			found := false
			for _, pr := range rep.Problems {
				found = found || strings.Contains(pr, path) && strings.Contains(pr, w)
			}
			if !found {
				t.Errorf("no problem names %s with %q:\n%s", path, w, strings.Join(rep.Problems, "\n"))
			}
		}
	}
	check(dryRun(t, cfg, false), want)
	want[nanPath] = "NaN"
	check(dryRun(t, cfg, true), want)

	// Feature ids: the rows as stored are checked against the ids' count.
	cfg.SourceRows = tn + 5
	rep := dryRun(t, cfg, false)
	if !strings.Contains(strings.Join(rep.Problems, "\n"), fmt.Sprintf("%d rows, but the feature ids list %d", tn, tn+5)) {
		t.Errorf("rows against feature ids:\n%s", strings.Join(rep.Problems, "\n"))
	}
	cfg.SourceRows = 0

	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err == nil {
		t.Error("Run scored a model the dry run found problems in")
	}
}

// A manifest is read without opening its files: the dry run finds a missing file and a bundle
// member that is not there, and checks the members that are, each file opened once.
func TestDryRunManifest(t *testing.T) {
	dir := t.TempDir()
	y := writeModel(t, dir, []int{5}, 2)
	arrs := []*array.Array{
		{Name: "conv", Shape: []int{tn, td}, DType: "float32", F32: make([]float32, tn*td)},
		{Name: "fc", Shape: []int{tn, td + 1}, DType: "float32", F32: make([]float32, tn*(td+1))},
	}
	arrs[0].F32[0], arrs[1].F32[0] = 1, 2 // not constant
	if err := array.WriteNPZ(filepath.Join(dir, "late.npz"), arrs); err != nil {
		t.Fatal(err)
	}
	man := "checkpoint,step,layer,path,member\n" +
		"early,5,conv,ckpt-5/layer-0.npy,\nearly,5,fc,ckpt-5/layer-1.npy,\n" +
		"mid,20,conv,late.npz,conv\nmid,20,fc,gone.npy,\n" +
		"late,50,conv,late.npz,conv\nlate,50,fc,late.npz,head\n"
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(man), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := sweep.Discover(dir, "m")
	if err != nil {
		t.Fatal(err)
	}
	rep := dryRun(t, config(t, filepath.Join(t.TempDir(), "out"), p, y, nil), false)
	probs := strings.Join(rep.Problems, "\n")
	if rep.Checked != 6 || len(rep.Problems) != 2 || !strings.Contains(probs, "gone.npy") || !strings.Contains(probs, `no array named "head"`) {
		t.Errorf("%d checked, problems:\n%s", rep.Checked, probs)
	}
	if l := rep.Layers[1]; l.MinFeatures != td || l.MaxFeatures != td {
		t.Errorf("layer fc: %+v, want %d features (the readable ones)", l, td)
	}
	if l := rep.Layers[0]; l.MinFeatures != td || l.MaxFeatures != td || len(l.DTypes) != 1 {
		t.Errorf("layer conv: %+v", l)
	}
}

// An earlier run's metadata that cannot be read stops Run before it scores anything: the dry run
// says so too, rather than "no problems" before a job array whose every task would fail.
func TestDryRunFindsUnreadableEarlierMetadata(t *testing.T) {
	_, p, y, out := newSweep(t, []int{1}, 2)
	if _, err := sweep.Run(context.Background(), config(t, out, p, y, nil)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "meta", "roi_labels.npy"), []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, runErr := sweep.Run(context.Background(), config(t, out, p, y, nil))
	if runErr == nil || !strings.Contains(runErr.Error(), "roi_labels.npy") {
		t.Fatalf("run over damaged metadata: %v", runErr)
	}
	cfg := config(t, out, p, y, nil)
	cfg.Session = nil
	before := snapshot(t, out)
	_, err := sweep.DryRun(cfg, false)
	if err == nil || err.Error() != runErr.Error() {
		t.Errorf("dry run over damaged metadata: error %v, want the run's: %v", err, runErr)
	}
	if snapshot(t, out) != before {
		t.Error("the dry run changed the folder")
	}
}

// A finished sweep rerun with other checkpoint steps or metadata scores no unit, but Run
// rewrites the tables: the dry run says so and names what changed; rerun as it was, the tables
// are kept, as Run keeps them.
func TestDryRunPredictsRemerge(t *testing.T) {
	_, plan, y, out := newSweep(t, []int{10, 20}, 2)
	cfg := config(t, out, plan, y, nil)
	if _, err := sweep.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	steps := func(v ...float64) *sweep.Plan {
		p := *plan
		p.Checkpoints = slices.Clone(plan.Checkpoints)
		if err := p.SetSteps(v); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	for _, tc := range []struct {
		name   string
		change func(*sweep.Config)
		why    string // "": the tables are kept
	}{
		{"the same run", nil, ""},
		{"new steps", func(c *sweep.Config) { c.Plan = steps(100, 200) }, "sweep.json: checkpoint steps"},
		{"the same run again", nil, ""},
		{"an ROI renamed", func(c *sweep.Config) { c.Meta.ROINames = map[int]string{0: "V1", 1: "LOC"} }, "meta/: roi_names"},
		// Run keeps the earlier run's metadata, and sweep.json says they are there
		{"no metadata given", func(c *sweep.Config) { c.Meta = sweep.Meta{} }, ""},
	} {
		if tc.change != nil {
			tc.change(&cfg)
		}
		dry := cfg
		dry.Session = nil
		rep := dryRun(t, dry, false)
		if rep.ToScore != 0 || rep.Merge != (tc.why != "") || tc.why != "" && (len(rep.Remerge) != 1 || !strings.HasPrefix(rep.Remerge[0], tc.why)) ||
			tc.why == "" && len(rep.Remerge) != 0 {
			t.Fatalf("%s: dry run %+v, want Merge %v for %q", tc.name, rep, tc.why != "", tc.why)
		}
		run, err := sweep.Run(context.Background(), cfg)
		if err != nil || run.Computed != 0 || !run.Merged || run.UpToDate != !rep.Merge {
			t.Fatalf("%s: run %+v %v after dry run %+v", tc.name, run, err, rep)
		}
	}
}
