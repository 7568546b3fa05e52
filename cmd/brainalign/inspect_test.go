package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/sweep"
)

// inspect describes an array bundle (shapes, dtypes, sizes; values on request), a sweep folder
// (progress), a folder of sweeps and a model's folder, and goes on past a path it cannot
// describe, exiting 1.
func TestInspectCLI(t *testing.T) {
	dir := t.TempDir()
	acts := []*array.Array{
		{Name: "blocks.0", Shape: []int{3, 2}, DType: "float32", F32: []float32{1, 2, 3, 4, 5, float32(math.NaN())}},
		{Name: "ids", Shape: []int{3}, DType: "int64", I64: []int64{7, 8, 9}},
	}
	npz := filepath.Join(dir, "acts.npz")
	if err := array.WriteNPZ(npz, acts); err != nil {
		t.Fatal(err)
	}
	got := mustRun(t, "inspect", npz)
	for _, want := range []string{"acts.npz: 2 array(s)", "blocks.0", "3 x 2", "float32", "24 B", "ids", "int64"} {
		if !strings.Contains(got, want) {
			t.Errorf("inspect %s: no %q in\n%s", npz, want, got)
		}
	}
	if got = mustRun(t, "inspect", "--values", npz); !strings.Contains(got, "min 1, max 5, mean 3; NaN 1, Inf 0") || !strings.Contains(got, "min 7, max 9, mean 8") {
		t.Errorf("inspect --values:\n%s", got)
	}
	// uint64 values above the int64 range are read as NumPy's astype(np.float64) (gen_arrays.py),
	// not refused as a damaged file
	big := filepath.Join("..", "..", "testdata", "arrays", "uint64_big.npy")
	if got = mustRun(t, "inspect", "--values", big); !strings.Contains(got, "uint64") || !strings.Contains(got, "min 0, max 1.84467e+19, mean 7.17473e+18; NaN 0, Inf 0") {
		t.Errorf("inspect --values of uint64 values above the int64 range:\n%s", got)
	}
	// an empty array has no values, which is not the same as none finite
	empty := filepath.Join(dir, "empty.npy")
	if err := array.WriteNPY(empty, []int{0, 5}, []float32{}); err != nil {
		t.Fatal(err)
	}
	if got = mustRun(t, "inspect", "--values", empty); !strings.Contains(got, "0 x 5") || !strings.Contains(got, "no values (the array is empty)") {
		t.Errorf("inspect --values of an empty array:\n%s", got)
	}

	st := filepath.Join(dir, "study")
	mustRun(t, "synth", "--out", st, "--subjects", "1")
	out := filepath.Join(dir, "sweeps", "s")
	args := []string{"sweep", "--features", filepath.Join(st, "model"), "--brain", filepath.Join(st, "fmri", "sub-01", "brain.npy"),
		"--out", out, "--alphas", "1,100", "--folds", "3", "--subject", "sub-01"}
	mustRun(t, append(args, "--shard", "0/2")...)
	got = mustRun(t, "inspect", out)
	for _, want := range []string{"sweep of model model, subject sub-01", "400 x 360 float32", "6 checkpoint(s) x 6 layers = 36 units; 3 folds, 2 penalties (1 to 100), inner loo, float32",
		"18 of 36 units done (50%), not merged", "per unit on ", "the latest unit finished"} {
		if !strings.Contains(got, want) {
			t.Errorf("inspect of half a sweep: no %q in\n%s", want, got)
		}
	}
	mustRun(t, append(args, "--shard", "1/2")...)
	if got = mustRun(t, "inspect", out); !strings.Contains(got, "36 of 36 units done (100%), merged") ||
		!strings.Contains(got, "checkpoint ckpt-010000000: mean r by layer ") || !strings.Contains(got, "best layer layer") {
		t.Errorf("inspect of a merged sweep:\n%s", got)
	}
	// being run again (merged.json removed as a unit is to be scored anew): the status, no error
	if err := os.Rename(filepath.Join(out, "merged.json"), filepath.Join(dir, "merged.json")); err != nil {
		t.Fatal(err)
	}
	if got = mustRun(t, "inspect", out); !strings.Contains(got, "not current") || strings.Contains(got, "mean r by layer") {
		t.Errorf("inspect of a sweep whose tables are not current:\n%s", got)
	}
	if err := os.Rename(filepath.Join(dir, "merged.json"), filepath.Join(out, "merged.json")); err != nil {
		t.Fatal(err)
	}
	if got = mustRun(t, "inspect", filepath.Join(dir, "sweeps")); !strings.Contains(got, filepath.Join(dir, "sweeps")+": 1 sweep\n") || !strings.Contains(got, "subject sub-01: 36 of 36 units done, merged") {
		t.Errorf("inspect of a folder of sweeps:\n%s", got)
	}
	if got = mustRun(t, "inspect", filepath.Join(st, "model")); !strings.Contains(got, "6 checkpoint(s) x 6 layers") || !strings.Contains(got, "ckpt-000000100 (step 100)") {
		t.Errorf("inspect of a model folder:\n%s", got)
	}

	stdout, stderr, code := runCLI(t, "inspect", filepath.Join(dir, "missing.npy"), npz)
	if code != 1 || !strings.Contains(stderr, "missing.npy") || !strings.Contains(stderr, "1 of 2 paths could not be described") || !strings.Contains(stdout, "acts.npz: 2 array(s)") {
		t.Errorf("inspect with a missing path: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, _, code := runCLI(t, "inspect"); code != 2 {
		t.Errorf("inspect without a path: exit %d, want 2", code)
	}
}

// The rate and time left come from the latest units' records.
func TestPrintStatusRate(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	s := &sweep.Status{Dir: "d", Manifest: &sweep.Manifest{Model: "m", Layers: []string{"a", "b"}, Checkpoints: make([]sweep.CheckpointInfo, 50)},
		Units: 100, Done: 40, Timed: []sweep.EngineTime{{Engine: "cuda:0", Units: 40, Seconds: 12}},
		Recent: 0.5, RecentN: 40, RecentSpan: 78 * time.Second, Last: now.Add(-10 * time.Second)}
	var b bytes.Buffer
	printStatus(&b, s, now)
	for _, want := range []string{"40 of 100 units done (40%), not merged", "12s per unit on cuda:0 (40 units)",
		"the latest unit finished 10s ago; the latest 40 took 1m18s (30 units/min over all shards): 60 left, about 2m0s at that rate"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}

// THINGS-MEG's 271 channels are listed by their ends; parts and an unreadable file are said.
func TestPrintPartsChannels(t *testing.T) {
	ch := make([]string, 271)
	for i := range ch {
		ch[i] = fmt.Sprintf("MEG%04d", i)
	}
	var b bytes.Buffer
	printPartsChannels(&b, &sweep.Status{Channels: ch, Parts: []sweep.TargetPart{{Name: "lh", Targets: 3}, {Name: "rh", Targets: 4}}, MetaErr: "meta/parts.txt: line 2"})
	want := "  targets joined from 2 files: lh (3) + rh (4)\n" +
		"  271 MEG channels: MEG0000, MEG0001, MEG0002, ..., MEG0269, MEG0270 (subjects pool channel by channel only with these, in this order)\n" +
		"  metadata unreadable: meta/parts.txt: line 2\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// A results folder (encode's, ceiling's, ...) is described as such, not as a model whose layers
// are its arrays; misplaced flags are named against the paths.
func TestInspectResultsFolder(t *testing.T) {
	st := writeTrialStudy(t)
	ceil := filepath.Join(st.dir, "ceil")
	mustRun(t, "ceiling", "--brain", filepath.Join(st.dir, "trials.npy"), "--ids", st.ids, "--out", ceil)
	out := mustRun(t, "inspect", ceil)
	for _, want := range []string{"results of brainalign ceiling", "ceiling.json has the details", "ceiling.npy", "averaged.npy"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect of a ceiling folder lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "checkpoint") {
		t.Errorf("a results folder described as a model:\n%s", out)
	}
	wantError(t, 2, "flags must come before the paths: move --values before "+ceil, "inspect", ceil, "--values")
}

// inspect names the space of neuroimaging files: what results over their targets are written in.
func TestInspectNeuroSpace(t *testing.T) {
	for name, want := range map[string]string{
		"atlas.dlabel.nii":     "space: CIFTI-2, 4 grayordinates (surface vertices and voxels); labels 0 ???, 1 V1, 2 V2 & V3",
		"parcels.ptseries.nii": "space: CIFTI-2, 2 parcels",
		"surface_float.mgz":    "space: MGH, a surface of 5 vertices",
		"float32_be.nii":       "space: NIfTI-1, 2 x 3 x 4 voxels",
	} {
		if out := mustRun(t, "inspect", filepath.Join("..", "..", "testdata", "neuro", name)); !strings.Contains(out, want) {
			t.Errorf("inspect %s lacks %q:\n%s", name, want, out)
		}
	}
}

// inspect shows an MNE epochs file's times, channels and split parts; as brain data it reads as
// one array named after the path, epochs x channels x times.
func TestInspectFIF(t *testing.T) {
	path := filepath.Join("..", "..", "testdata", "fif", "split-epo.fif")
	out := mustRun(t, "inspect", path)
	for _, want := range []string{"24 x 5 x 31", "float32", "times: 31 samples, -0.1 to 0.2 s at 100 Hz",
		"channels: 5: MEG0111, MEG0112, MEG0113, EEG001, EEG-with-a-long-name", "split in 3 parts: split-epo.fif, split-epo-1.fif, split-epo-2.fif"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect %s lacks %q:\n%s", path, want, out)
		}
	}
	in, err := loadMatrix(path, "", "--brain-array")
	if err != nil {
		t.Fatal(err)
	}
	defer in.close()
	if in.name() != path || in.m.Rows != 24 || in.m.Cols != 5*31 {
		t.Errorf("loaded as %s, %d x %d", in.name(), in.m.Rows, in.m.Cols)
	}
}

// inspect lists an epochs file's events (name = code, epochs) and metadata columns.
func TestInspectEpochsEvents(t *testing.T) {
	out := mustRun(t, "inspect", fifPath("events-epo.fif"), fifPath("things-epo.fif"), fifPath("mixed-epo.fif"))
	for _, want := range []string{
		"events: 3 over 6 epochs, name = code (epochs): image_0042 = 1 (1), cat/image_123 = 2 (3), dog:07/image_9 = 5 (2)",
		"metadata: 6 columns: image, things_image_nr, score, with_nan, flag, trial type",
		"events: 6 over 14 epochs, code (epochs): 1 (2), 15 (2), 2017 (4), 5170 (2), 26100 (2), 999999 (2)",
		"metadata: 5 columns: session_nr, run_nr, trial_type, image_path, things_image_nr",
		"metadata: none",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect: no %q in\n%s", want, out)
		}
	}
}

// inspect --values of a damaged file (a .nii.gz cut short: its header reads, its data not) says so
// and exits 1, so that it can check downloads; without --values it describes the header alone.
func TestInspectDamagedValues(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "neuro", "int16_scaled.nii.gz"))
	must(t, err)
	cut := filepath.Join(t.TempDir(), "cut.nii.gz")
	must(t, os.WriteFile(cut, b[:len(b)-40], 0o644))
	if _, stderr, code := runCLI(t, "inspect", cut); code != 0 {
		t.Errorf("inspect of the header: exit %d, %s", code, stderr)
	}
	stdout, stderr, code := runCLI(t, "inspect", "--values", cut)
	if code != 1 || !strings.Contains(stdout, "unreadable") || !strings.Contains(stderr, "1 of its 1 array(s) could not be read") {
		t.Errorf("inspect --values of a damaged file: exit %d, %s%s", code, stdout, stderr)
	}
}
