package sweep_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/fallback"
	"github.com/brainalign/brainalign/sweep"
)

// countingSession records which activation matrices it scored (by their first value).
type countingSession struct {
	engine.Session
	mu     sync.Mutex
	scored []float64
}

func (s *countingSession) Score(ctx context.Context, x engine.Matrix) (*engine.Result, error) {
	s.mu.Lock()
	s.scored = append(s.scored, x.At(0, 0))
	s.mu.Unlock()
	return s.Session.Score(ctx, x)
}

const (
	tn, td, tm = 60, 6, 5 // images, features, targets
)

// newSweep writes a model (writeModel) into a temporary folder and discovers it: the model's
// folder, its plan, the brain data, and an output folder beside it (not yet made).
func newSweep(t *testing.T, steps []int, layers int) (model string, p *sweep.Plan, y engine.Matrix, out string) {
	t.Helper()
	dir := t.TempDir()
	model = filepath.Join(dir, "model")
	y = writeModel(t, model, steps, layers)
	p, err := sweep.Discover(model, "")
	if err != nil {
		t.Fatal(err)
	}
	return model, p, y, filepath.Join(dir, "out")
}

// writeModel writes ckpt-<step>/layer-<k>.npy files whose first value encodes (checkpoint,
// layer) as 1000+10c+l, and returns brain data with a planted signal from each layer.
func writeModel(t *testing.T, dir string, steps []int, layers int) engine.Matrix {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	y := make([]float64, tn*tm)
	for i := range y {
		y[i] = rng.NormFloat64()
	}
	for c, s := range steps {
		cd := filepath.Join(dir, fmt.Sprintf("ckpt-%d", s))
		if err := os.MkdirAll(cd, 0o755); err != nil {
			t.Fatal(err)
		}
		for l := 0; l < layers; l++ {
			x := make([]float32, tn*td)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			x[0] = float32(1000 + 10*c + l)
			// Name layers so that plain string order is wrong: layer-10 after layer-9.
			if err := array.WriteNPY(filepath.Join(cd, fmt.Sprintf("layer-%d.npy", l)), []int{tn, td}, x); err != nil {
				t.Fatal(err)
			}
		}
	}
	return engine.NewMatrix64(tn, tm, y)
}

func config(t *testing.T, out string, plan *sweep.Plan, y engine.Matrix, sess engine.Session) sweep.Config {
	t.Helper()
	opts, err := engine.Defaults(y.Rows)
	if err != nil {
		t.Fatal(err)
	}
	opts.Alphas = []float64{1, 100}
	if sess == nil {
		if sess, err = fallback.New().Open(y, opts); err != nil {
			t.Fatal(err)
		}
	}
	return sweep.Config{Dir: out, Plan: plan, Session: sess, Options: opts, Brain: sweep.BrainInfo{Path: "Y.npy", Shape: []int{y.Rows, y.Cols}, DType: "float64"},
		Rows: y.Rows, Trailing: []int{y.Cols}, Fingerprint: sweep.Fingerprint(y, opts), DataDigest: sweep.DataDigest(y, nil), FoldScheme: "kfold (contiguous, unshuffled)",
		Meta: sweep.Meta{ROI: []int{0, 0, 1, 1, -1}, ROINames: map[int]string{0: "V1", 1: "IT"}}}
}

func session(t *testing.T, y engine.Matrix) *countingSession {
	opts, _ := engine.Defaults(y.Rows)
	opts.Alphas = []float64{1, 100}
	s, err := fallback.New().Open(y, opts)
	if err != nil {
		t.Fatal(err)
	}
	return &countingSession{Session: s}
}

func TestDiscoverFolders(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, []int{10000, 500, 20}, 11)
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755) // not a checkpoint
	p, err := sweep.Discover(dir, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Checkpoints) != 3 || p.Checkpoints[0].Name != "ckpt-20" || p.Checkpoints[2].Step != 10000 || !p.HasSteps() {
		t.Errorf("checkpoints %+v: want ckpt-20, ckpt-500, ckpt-10000 by step", p.Checkpoints)
	}
	if len(p.Layers) != 11 || p.Layers[2] != "layer-2" || p.Layers[10] != "layer-10" {
		t.Errorf("layers %v: want layer-0 .. layer-10 in numeric order", p.Layers)
	}
	// --steps overrides names.
	if err := p.SetSteps([]float64{1, 2, 3}); err != nil || p.Checkpoints[1].Step != 2 {
		t.Errorf("SetSteps: %v", err)
	}
	if err := p.SetSteps([]float64{1, 2}); err == nil || !strings.Contains(err.Error(), "2 steps given for 3 checkpoints") {
		t.Errorf("SetSteps with 2 steps: %v", err)
	}
	// One checkpoint folder of layers.
	p, err = sweep.Discover(filepath.Join(dir, "ckpt-500"), "")
	if err != nil || len(p.Checkpoints) != 1 || len(p.Layers) != 11 || p.Model != "ckpt-500" {
		t.Errorf("single checkpoint folder: %+v %v", p, err)
	}
}

func TestDiscoverBundles(t *testing.T) {
	dir := t.TempDir()
	var arrs []*array.Array
	for l := 0; l < 3; l++ {
		arrs = append(arrs, &array.Array{Name: fmt.Sprintf("blocks.%d", 2-l), Shape: []int{tn, td}, F32: make([]float32, tn*td)})
	}
	arrs = append(arrs, &array.Array{Name: "image_ids", Shape: []int{tn}, I64: make([]int64, tn)})
	npz := filepath.Join(dir, "acts.npz")
	if err := array.WriteNPZ(npz, arrs); err != nil {
		t.Fatal(err)
	}
	p, err := sweep.Discover(npz, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Layers, ",") != "blocks.0,blocks.1,blocks.2" || p.Model != "acts" {
		t.Errorf("npz layers %v (ids must be skipped, blocks in order), model %q", p.Layers, p.Model)
	}
	// safetensors: a bfloat16 and a float16 layer.
	st := filepath.Join(dir, "step_300.safetensors")
	writeSafetensors(t, st, map[string]string{"layer1": "F16", "layer0": "BF16"})
	p, err = sweep.Discover(st, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(p.Layers, ",") != "layer0,layer1" || p.Checkpoints[0].Step != 300 {
		t.Errorf("safetensors plan %+v", p)
	}
	// Checkpoints as bundles in a folder.
	run := filepath.Join(dir, "run")
	os.MkdirAll(run, 0o755)
	writeSafetensors(t, filepath.Join(run, "ckpt-1000.safetensors"), map[string]string{"a.1": "F16", "a.0": "F16"})
	writeSafetensors(t, filepath.Join(run, "ckpt-10.safetensors"), map[string]string{"a.1": "F16", "a.0": "F16"})
	p, err = sweep.Discover(run, "")
	if err != nil || len(p.Checkpoints) != 2 || p.Checkpoints[0].Name != "ckpt-10" {
		t.Errorf("bundle checkpoints: %+v %v", p, err)
	}
	// A sweep over a safetensors checkpoint scores each layer.
	y := engine.NewMatrix64(tn, tm, make([]float64, tn*tm))
	for i := range y.F64 {
		y.F64[i] = math.Sin(float64(i))
	}
	cfg := config(t, filepath.Join(dir, "out"), p, y, nil)
	rep, err := sweep.Run(context.Background(), cfg)
	if err != nil || rep.Computed != 4 || !rep.Merged {
		t.Fatalf("sweep of safetensors checkpoints: %+v %v", rep, err)
	}
}

// HDF5 files are bundles too: checkpoints in a folder, their datasets (at group paths) the
// layers, in natural order; a layer reads as h5py wrote it.
func TestDiscoverHDF5Bundles(t *testing.T) {
	dir := filepath.Join("..", "testdata", "hdf5")
	p, err := sweep.Discover(filepath.Join(dir, "model"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Checkpoints) != 2 || p.Checkpoints[1].Name != "ckpt-200" || p.Checkpoints[1].Step != 200 ||
		strings.Join(p.Layers, ",") != "blocks/1/out,blocks/2/out,blocks/10/out" {
		t.Fatalf("HDF5 checkpoints %+v, layers %v", p.Checkpoints, p.Layers)
	}
	src := p.Checkpoints[0].Layers[0]
	f, err := array.Open(src.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := f.Read(src.Member)
	if err != nil {
		t.Fatal(err)
	}
	x, err := a.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	want, err := array.ReadNPY(filepath.Join(dir, "model_ckpt-100_blocks.1.out.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	if x.Rows != want.Shape[0] || x.Cols != want.Shape[1] {
		t.Fatalf("layer blocks/1/out: %d x %d, want %v", x.Rows, x.Cols, want.Shape)
	}
	for i := range x.Rows {
		for j := range x.Cols {
			if x.At(i, j) != float64(want.F32[i*x.Cols+j]) {
				t.Fatalf("layer blocks/1/out (%d, %d): %v, want %v", i, j, x.At(i, j), want.F32[i*x.Cols+j])
			}
		}
	}
}

// In a folder, HDF5 and .mat files are checkpoints only where it holds no other arrays: beside
// .npy layers or checkpoint folders they are other things (a Keras model's weights.h5, a
// stimulus list .mat), passed over as before HDF5 was read.
func TestHDF5BesideOtherArrays(t *testing.T) {
	dir := t.TempDir()
	h5 := filepath.Join("..", "testdata", "hdf5", "one.hdf5")
	b, err := os.ReadFile(h5)
	if err != nil {
		t.Fatal(err)
	}
	layers := filepath.Join(dir, "layers")
	os.MkdirAll(layers, 0o755)
	for _, l := range []string{"layer1", "layer2"} {
		if err := array.WriteNPY(filepath.Join(layers, l+".npy"), []int{tn, td}, make([]float32, tn*td)); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(layers, "weights.h5"), b, 0o644)
	if p, err := sweep.Discover(layers, ""); err != nil || len(p.Checkpoints) != 1 || len(p.Layers) != 2 {
		t.Errorf(".npy layers beside weights.h5: %+v %v", p, err)
	}
	cks := filepath.Join(dir, "cks")
	for _, ck := range []string{"ck1", "ck2"} {
		os.MkdirAll(filepath.Join(cks, ck), 0o755)
		arrs := []*array.Array{{Name: "a", Shape: []int{tn, td}, F32: make([]float32, tn*td)}, {Name: "b", Shape: []int{tn, td}, F32: make([]float32, tn*td)}}
		if err := array.WriteNPZ(filepath.Join(cks, ck, "acts.npz"), arrs); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(cks, ck, "weights.h5"), b, 0o644)
	}
	os.WriteFile(filepath.Join(cks, "stimuli.mat"), append([]byte("MATLAB 5.0 MAT-file"), make([]byte, 200)...), 0o644)
	os.MkdirAll(filepath.Join(cks, "keras"), 0o755)
	os.WriteFile(filepath.Join(cks, "keras", "model.h5"), b, 0o644)
	if p, err := sweep.Discover(cks, ""); err != nil || len(p.Checkpoints) != 2 || len(p.Layers) != 2 {
		t.Errorf("checkpoint folders beside a .mat and a folder of an .h5: %+v %v", p, err)
	}
}

// A MATLAB v7.3 file is an HDF5 bundle too (here of one layer: too few for a sweep, said so).
func TestDiscoverMATBundle(t *testing.T) {
	_, err := sweep.Discover(filepath.Join("..", "testdata", "hdf5", "matlab.mat"), "")
	if err == nil || !strings.Contains(err.Error(), "layer") || strings.Contains(err.Error(), "not a folder") {
		t.Errorf("a MATLAB v7.3 file of one array: %v", err)
	}
}

// writeSafetensors writes tn x td tensors of the given dtypes (F16 or BF16), value 1.5.
func writeSafetensors(t *testing.T, path string, dtypes map[string]string) {
	t.Helper()
	head := map[string]any{}
	var data []byte
	for name, dt := range dtypes {
		v := uint16(0x3e00) // 1.5 in float16
		if dt == "BF16" {
			v = 0x3fc0 // 1.5 in bfloat16
		}
		start := len(data)
		for i := 0; i < tn*td; i++ {
			data = binary.LittleEndian.AppendUint16(data, v)
		}
		head[name] = map[string]any{"dtype": dt, "shape": []int{tn, td}, "data_offsets": []int{start, len(data)}}
	}
	h, _ := json.Marshal(head)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDiscoverManifest(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, []int{5, 50}, 2)
	man := "checkpoint,step,layer,path\nearly,5,conv,ckpt-5/layer-0.npy\nearly,5,fc,ckpt-5/layer-1.npy\nlate,50,conv,ckpt-50/layer-0.npy\nlate,50,fc,ckpt-50/layer-1.npy\n"
	os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(man), 0o644)
	p, err := sweep.Discover(dir, "m")
	if err != nil {
		t.Fatal(err)
	}
	if p.Checkpoints[1].Name != "late" || p.Checkpoints[1].Step != 50 || p.Layers[0] != "conv" || !strings.HasSuffix(p.Checkpoints[1].Layers[1].Path, "ckpt-50/layer-1.npy") {
		t.Errorf("manifest plan %+v", p)
	}
}

func TestDiscoverErrors(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, filepath.Join(dir, "one"), []int{1}, 1)
	writeModel(t, filepath.Join(dir, "uneven"), []int{1, 2}, 3)
	os.Remove(filepath.Join(dir, "uneven", "ckpt-2", "layer-2.npy"))
	os.WriteFile(filepath.Join(dir, "bad.npz"), []byte("not a zip"), 0o644)
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "one"), "too few layers: 1 found"},
		{filepath.Join(dir, "one", "ckpt-1", "layer-0.npy"), "too few layers"},
		{filepath.Join(dir, "uneven"), `checkpoint "ckpt-2" has layers [layer-0, layer-1]`},
		{filepath.Join(dir, "bad.npz"), "bad.npz"},
		{filepath.Join(dir, "empty"), "no activations found"},
		{filepath.Join(dir, "missing"), "missing"},
	} {
		_, err := sweep.Discover(c.path, "")
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Discover(%s): %v, want one line containing %q", c.path, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), filepath.Base(c.path)) {
			t.Errorf("Discover(%s): %v does not name the path", c.path, err)
		}
	}
}

func TestResumeSkipsDoneUnits(t *testing.T) {
	dir := t.TempDir()
	y := writeModel(t, filepath.Join(dir, "model"), []int{10, 100}, 3)
	p, err := sweep.Discover(filepath.Join(dir, "model"), "")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	s1 := session(t, y)
	rep, err := sweep.Run(context.Background(), config(t, out, p, y, s1))
	if err != nil || rep.Computed != 6 || !rep.Merged {
		t.Fatalf("first run: %+v %v", rep, err)
	}
	first, _ := os.ReadFile(filepath.Join(out, "scores.npy"))

	// A kill leaves: one unit with arrays but no record (killed between the two), one with a
	// truncated array, one with a corrupt record. Everything else must be reused.
	u := func(ck, ly string) string { return filepath.Join(out, "units", ck, ly) }
	os.Remove(u("ckpt-10", "layer-1") + ".json")
	b, _ := os.ReadFile(u("ckpt-100", "layer-0") + ".fold_scores.npy")
	os.WriteFile(u("ckpt-100", "layer-0")+".fold_scores.npy", b[:len(b)-9], 0o644)
	os.WriteFile(u("ckpt-100", "layer-2")+".json", []byte("{\"model\": "), 0o644)
	os.Remove(filepath.Join(out, "scores.npy"))

	s2 := session(t, y)
	rep, err = sweep.Run(context.Background(), config(t, out, p, y, s2))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Computed != 3 || rep.Skipped != 3 || len(rep.Redone) != 3 || !rep.Merged {
		t.Errorf("restart: %+v, want 3 recomputed (%v), 3 skipped", rep, rep.Redone)
	}
	want := map[float64]bool{1001: true, 1010: true, 1012: true}
	for _, v := range s2.scored {
		if !want[v] {
			t.Errorf("restart rescored unit %v, which was complete", v)
		}
	}
	again, _ := os.ReadFile(filepath.Join(out, "scores.npy"))
	if string(again) != string(first) {
		t.Error("scores.npy after restart differs from the uninterrupted run")
	}
	// A third run does nothing.
	s3 := session(t, y)
	if rep, err = sweep.Run(context.Background(), config(t, out, p, y, s3)); err != nil || rep.Computed != 0 || len(s3.scored) != 0 {
		t.Errorf("third run: %+v %v", rep, err)
	}
	// Other brain data in the same folder is refused.
	y2 := engine.NewMatrix64(tn, tm, append([]float64(nil), y.F64...))
	y2.F64[0]++
	if _, err := sweep.Run(context.Background(), config(t, out, p, y2, session(t, y2))); err == nil || !strings.Contains(err.Error(), "other brain data or options") {
		t.Errorf("other brain data: %v", err)
	}
}

func TestShardsCoverEveryUnitOnce(t *testing.T) {
	dir := t.TempDir()
	y := writeModel(t, filepath.Join(dir, "model"), []int{1, 2, 3}, 4)
	p, err := sweep.Discover(filepath.Join(dir, "model"), "")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	seen := map[float64]int{}
	const N = 5
	for i := 0; i < N; i++ {
		s := session(t, y)
		cfg := config(t, out, p, y, s)
		cfg.Shard = sweep.Shard{Index: i, Count: N}
		rep, err := sweep.Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Merged != (i == N-1) {
			t.Errorf("shard %d: merged %v", i, rep.Merged)
		}
		for _, v := range s.scored {
			seen[v]++
		}
	}
	if len(seen) != 12 {
		t.Errorf("%d distinct units scored, want 12", len(seen))
	}
	for v, n := range seen {
		if n != 1 {
			t.Errorf("unit %v scored %d times", v, n)
		}
	}
	sw, err := sweep.Load(out)
	if err != nil || sw.C != 3 || sw.L != 4 || sw.M != tm {
		t.Errorf("Load: %+v %v", sw, err)
	}
}

func TestParseShard(t *testing.T) {
	if s, err := sweep.ParseShard("2/4"); err != nil || s != (sweep.Shard{Index: 2, Count: 4}) {
		t.Errorf("2/4: %v %v", s, err)
	}
	for _, bad := range []string{"4/4", "-1/3", "1", "a/b", "0/0"} {
		if _, err := sweep.ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	env := map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"}
	s, ok, err := sweep.ShardFromEnv(func(k string) string { return env[k] })
	if !ok || err != nil || s != (sweep.Shard{Index: 2, Count: 3}) {
		t.Errorf("Slurm 1..3, task 3: %v %v %v", s, ok, err)
	}
	if _, ok, _ := sweep.ShardFromEnv(func(string) string { return "" }); ok {
		t.Error("shard outside a job array")
	}
	env["SLURM_ARRAY_TASK_ID"] = "9"
	if _, _, err := sweep.ShardFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Error("task id beyond the array accepted")
	}
	// --array=0-14:2: 8 tasks, ids 0, 2, ..., 14
	stepped := map[string]string{"SLURM_ARRAY_TASK_ID": "10", "SLURM_ARRAY_TASK_COUNT": "8",
		"SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "14", "SLURM_ARRAY_TASK_STEP": "2"}
	s, ok, err = sweep.ShardFromEnv(func(k string) string { return stepped[k] })
	if !ok || err != nil || s != (sweep.Shard{Index: 5, Count: 8}) {
		t.Errorf("Slurm 0-14:2, task 10: %v %v %v, want shard 5/8", s, ok, err)
	}
	stepped["SLURM_ARRAY_TASK_ID"] = "14"
	if s, _, err = sweep.ShardFromEnv(func(k string) string { return stepped[k] }); err != nil || s.Index != 7 {
		t.Errorf("Slurm 0-14:2, task 14: %v %v, want shard 7/8", s, err)
	}
	stepped["SLURM_ARRAY_TASK_ID"] = "3"
	if _, _, err := sweep.ShardFromEnv(func(k string) string { return stepped[k] }); err == nil {
		t.Error("task id off the array's step accepted")
	}
}

func TestTableCSV(t *testing.T) {
	dir := t.TempDir()
	y := writeModel(t, filepath.Join(dir, "model"), []int{10, 100}, 3)
	p, _ := sweep.Discover(filepath.Join(dir, "model"), "vit")
	out := filepath.Join(dir, "out")
	cfg := config(t, out, p, y, nil)
	cfg.Subject = "sub-01"
	if _, err := sweep.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, filepath.Join(out, "table.csv"))
	want := append(append([]string(nil), sweep.TableColumns...), "roi_V1", "roi_IT")
	if strings.Join(recs[0], ",") != strings.Join(want, ",") {
		t.Errorf("header %v, want %v", recs[0], want)
	}
	// ROI columns keep the names as given: names that differ only in characters unsafe in file
	// names stay distinct columns (quoted where CSV needs it)
	named := filepath.Join(dir, "named")
	cfg2 := config(t, named, p, y, nil)
	cfg2.Meta.ROINames = map[int]string{0: "左V1", 1: "右V1, \"d\""}
	if _, err := sweep.Run(context.Background(), cfg2); err != nil {
		t.Fatal(err)
	}
	if h := readCSV(t, filepath.Join(named, "table.csv"))[0]; h[len(h)-2] != "roi_左V1" || h[len(h)-1] != `roi_右V1, "d"` {
		t.Errorf("ROI columns %q", h[len(h)-2:])
	}
	if len(recs) != 1+6 {
		t.Fatalf("%d rows, want 6", len(recs)-1)
	}
	sw, _ := sweep.Load(out)
	for i, r := range recs[1:] {
		c, l := i/3, i%3
		if r[0] != "vit" || r[1] != "sub-01" || r[2] != p.Checkpoints[c].Name || r[4] != p.Layers[l] {
			t.Errorf("row %d: %v", i, r)
		}
		step, e1 := strconv.ParseFloat(r[3], 64)
		li, e2 := strconv.Atoi(r[5])
		depth, e3 := strconv.ParseFloat(r[6], 64)
		if e1 != nil || e2 != nil || e3 != nil || step != p.Checkpoints[c].Step || li != l || depth != float64(l)/2 {
			t.Errorf("row %d: step %q, layer_index %q, depth %q", i, r[3], r[5], r[6])
		}
		tab := sw.At(c)[l*tm : (l+1)*tm]
		for k, want := range []float64{(tab[0] + tab[1] + tab[2] + tab[3] + tab[4]) / 5, (tab[0] + tab[1]) / 2, (tab[2] + tab[3]) / 2} {
			col := []int{7, 11, 12}[k]
			got, err := strconv.ParseFloat(r[col], 64)
			if err != nil || !(math.Abs(got-want) <= 1e-9) { // "NaN" parses: it fails too
				t.Errorf("row %d column %s: %q, want %v", i, recs[0][col], r[col], want)
			}
		}
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	y := writeModel(t, filepath.Join(dir, "model"), []int{10, 100}, 2)
	p, _ := sweep.Discover(filepath.Join(dir, "model"), "")
	// A layer with the wrong number of rows: the error names the file.
	bad := filepath.Join(dir, "model", "ckpt-100", "layer-1.npy")
	array.WriteNPY(bad, []int{tn - 1, td}, make([]float32, (tn-1)*td))
	_, err := sweep.Run(context.Background(), config(t, filepath.Join(dir, "o1"), p, y, nil))
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "59 rows") {
		t.Errorf("short layer: %v", err)
	}
	// Metadata that does not match the targets.
	cfg := config(t, filepath.Join(dir, "o2"), p, y, nil)
	cfg.Meta.ROI = []int{1, 2}
	if _, err := sweep.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "ROI labels: 2 ROI labels for the 5 targets of Y.npy") {
		t.Errorf("ROI labels: %v", err)
	}
	cfg.Meta = sweep.Meta{Times: []float64{0, 1}}
	if _, err := sweep.Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "do not divide the 5 targets") {
		t.Errorf("times: %v", err)
	}
	// Metrics that need what a sweep lacks.
	array.WriteNPY(bad, []int{tn, td}, make([]float32, tn*td))
	out := filepath.Join(dir, "o3")
	cfg = config(t, out, p, y, nil)
	cfg.Meta = sweep.Meta{}
	if _, err := sweep.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	sw, err := sweep.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.Spatial([]*sweep.Sweep{sw}, sweep.SpatialOptions{Checkpoint: 1}); err == nil || !strings.Contains(err.Error(), out+": no target coordinates") {
		t.Errorf("spatial without coordinates: %v", err)
	}
	if _, err := sweep.Temporal([]*sweep.Sweep{sw}, sweep.TemporalOptions{}); err == nil || !strings.Contains(err.Error(), "no MEG times") {
		t.Errorf("temporal without times: %v", err)
	}
	if _, err := sweep.Load(filepath.Join(dir, "model")); err == nil || !strings.Contains(err.Error(), "not a sweep output folder") {
		t.Errorf("Load of a model folder: %v", err)
	}
	// One checkpoint: no half-time.
	one, _ := sweep.Discover(filepath.Join(dir, "model", "ckpt-10"), "")
	out = filepath.Join(dir, "o4")
	cfg = config(t, out, one, y, nil)
	cfg.Meta = sweep.Meta{}
	one.Checkpoints[0].Step, one.Checkpoints[0].HasStep = 10, true
	if _, err := sweep.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	sw, _ = sweep.Load(out)
	if _, err := sweep.HalfTimes(context.Background(), []*sweep.Sweep{sw}, sweep.HalfTimeOptions{}); err == nil || !strings.Contains(err.Error(), "too few checkpoints: 1") {
		t.Errorf("half-time of one checkpoint: %v", err)
	}
	os.Remove(filepath.Join(out, "scores.npy"))
	if _, err := sweep.Load(out); err == nil || !strings.Contains(err.Error(), "not merged") {
		t.Errorf("Load before merge: %v", err)
	}
}

// Units whose activations have directions numerically zero (a duplicated column) are named in
// the report, with the most directions a fold dropped; full-rank units are not.
func TestReportNamesRankDeficientUnits(t *testing.T) {
	model, p, y, out := newSweep(t, []int{10}, 2)
	path := filepath.Join(model, "ckpt-10", "layer-1.npy")
	a, err := array.ReadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	x := append([]float32(nil), a.F32...)
	a.Close()
	for i := range tn {
		x[i*td+5] = x[i*td+2] // column 5 a copy of column 2
	}
	if err := array.WriteNPY(path, []int{tn, td}, x); err != nil {
		t.Fatal(err)
	}
	rep, err := sweep.Run(context.Background(), config(t, out, p, y, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RankDeficient) != 1 || rep.RankDeficient[0] != "ckpt-10/layer-1" || rep.MostDropped != 1 {
		t.Errorf("rank-deficient units %v (most dropped %d), want [ckpt-10/layer-1] (1)", rep.RankDeficient, rep.MostDropped)
	}
}
