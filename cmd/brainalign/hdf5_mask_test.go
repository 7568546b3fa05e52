package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// hdf5MaskStudy writes what the commands need beside testdata/hdf5/targets_session.hdf5 (40
// trials of a 4 x 5 x 6 volume, int16, one voxel a chunk, gzip): activations of 40 images, a
// folder of two layers, trial ids (20 stimuli shown twice), and masks of the volume: .npy of its
// shape and flat, NIfTI over it and over its axes reversed. Voxel (0, 0, 0) is outside them.
func hdf5MaskStudy(t *testing.T) (dir string, masks map[string]string) {
	t.Helper()
	dir = t.TempDir()
	rng := rand.New(rand.NewPCG(7, 8))
	normal := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	must(t, array.WriteNPY(filepath.Join(dir, "X.npy"), []int{40, 8}, normal(40*8)))
	must(t, os.Mkdir(filepath.Join(dir, "acts"), 0o755))
	must(t, array.WriteNPY(filepath.Join(dir, "acts", "layer1.npy"), []int{40, 6}, normal(40*6)))
	must(t, array.WriteNPY(filepath.Join(dir, "acts", "layer2.npy"), []int{40, 5}, normal(40*5)))
	var ids, ids2 strings.Builder
	for i := range 40 {
		ids.WriteString("s" + string(rune('a'+i%20)) + "\n")
	}
	ids2.WriteString(ids.String() + ids.String())
	must(t, os.WriteFile(filepath.Join(dir, "ids.txt"), []byte(ids.String()), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "ids2.txt"), []byte(ids2.String()), 0o644))

	keep := make([]float64, 120)
	for j := range keep {
		if j > 0 && rng.Float64() < 0.2 || j == 119 {
			keep[j] = 1
		}
	}
	masks = map[string]string{"npy": filepath.Join(dir, "mask.npy"), "flat": filepath.Join(dir, "flat.npy"),
		"nifti": filepath.Join(dir, "mask.nii.gz"), "reversed": filepath.Join(dir, "reversed.nii.gz")}
	must(t, array.WriteNPY(masks["npy"], []int{4, 5, 6}, keep))
	must(t, array.WriteNPY(masks["flat"], []int{120}, keep))
	tmpl, err := array.ReadGeometry(filepath.Join("..", "..", "testdata", "neuro", "float32_be.nii"))
	must(t, err)
	g := *tmpl
	g.Spatial = []int{4, 5, 6}
	must(t, array.WriteVolume(masks["nifti"], &g, keep))
	g.Spatial = []int{6, 5, 4}
	must(t, array.WriteVolume(masks["reversed"], &g, keep))
	return dir, masks
}

// outputs reads every file of a results folder, JSON decoded with what differs from run to run
// (timings, the time written, the host's free memory, the stamp over them, the output's path) left out.
func outputs(t *testing.T, out string) map[string]any {
	t.Helper()
	files := map[string]any{}
	must(t, filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		if !strings.HasSuffix(p, ".json") {
			files[rel] = b
			return nil
		}
		var v any
		if err := json.Unmarshal(bytes.ReplaceAll(b, []byte(out), []byte("OUT")), &v); err != nil {
			return err
		}
		var strip func(v any)
		strip = func(v any) {
			switch v := v.(type) {
			case map[string]any:
				for _, k := range []string{"seconds", "created", "available_memory_bytes", "gflops_per_second", "stamp"} {
					delete(v, k)
				}
				for _, e := range v {
					strip(e)
				}
			case []any:
				for _, e := range v {
					strip(e)
				}
			}
		}
		strip(v)
		files[rel] = v
		return nil
	}))
	return files
}

// A --brain-mask over an HDF5 session, or the same session as MATLAB saves it (a v7.3 .mat: its
// axes reversed), reads the masked voxels only, and every command's outputs are those of the
// whole session read and masked, bit for bit: masks of the volume's shape, flat, NIfTI (whose
// space the outputs take); errors are the same where the mask does not fit (a NIfTI mask over the
// volume's axes reversed: NSD's HDF5 betas against its NIfTI masks). The .mat session's scores
// are the HDF5 session's.
func TestHDF5MaskedReads(t *testing.T) {
	dir, masks := hdf5MaskStudy(t)
	x, acts := filepath.Join(dir, "X.npy"), filepath.Join(dir, "acts")
	defer func() { maskedReads = true }()
	for _, file := range []string{"targets_session.hdf5", "targets_session.mat"} {
		session := filepath.Join("..", "..", "testdata", "hdf5", file)
		commands := map[string][]string{
			"encode":  {"encode", "--features", x, "--precision", "float64"},
			"ceiling": {"ceiling", "--brain", session, "--ids", filepath.Join(dir, "ids2.txt"), "--session-per-file"}, // two sessions
			"rsa":     {"rsa", "--features", x},
			"sweep":   {"sweep", "--features", acts},
			"predict": {"predict", "--features", x, "--new-features", x},
		}
		for name, args := range commands {
			for kind, mask := range masks {
				checkMaskedRead(t, dir, file, name, kind, append(append([]string{}, args...), "--brain", session, "--brain-array", "betas", "--brain-mask", mask))
			}
		}
	}
	for _, kind := range []string{"npy", "nifti"} {
		h5, mat := filepath.Join(dir, "out", "encode-"+kind, "targets_session.hdf5", "direct"), filepath.Join(dir, "out", "encode-"+kind, "targets_session.mat", "direct")
		for _, f := range []string{"scores.npy", "alphas.npy"} {
			a, err := os.ReadFile(filepath.Join(h5, f))
			must(t, err)
			if b, err := os.ReadFile(filepath.Join(mat, f)); err != nil || !bytes.Equal(a, b) {
				t.Errorf("encode, %s mask: the .mat session's %s differs from the HDF5 session's (%v)", kind, f, err)
			}
		}
	}
}

// checkMaskedRead runs a command (args, but for --out) with --brain-mask read directly and read
// after the whole session (maskedReads), and fails unless their outputs, or errors, are the same.
func checkMaskedRead(t *testing.T, dir, file, name, kind string, args []string) {
	t.Helper()
	label := file + ", " + name + ", " + kind + " mask"
	var got [2]map[string]any
	var errs [2]string
	for i, direct := range []bool{true, false} {
		maskedReads = direct
		out := filepath.Join(dir, "out", name+"-"+kind, file, []string{"direct", "whole"}[i])
		_, stderr, code := runCLI(t, append(slices.Clone(args), "--out", out)...)
		maskedReads = true
		if code != 0 {
			errs[i] = strings.ReplaceAll(stderr, out, "OUT")
			continue
		}
		got[i] = outputs(t, out)
	}
	if errs[0] != errs[1] {
		t.Errorf("%s: errors differ:\n%s\n%s", label, errs[0], errs[1])
	}
	if kind == "reversed" {
		if !strings.Contains(errs[0], "reversed") {
			t.Errorf("%s: %q, want the error that says so", label, errs[0])
		}
		return
	}
	if errs[0] != "" {
		t.Fatalf("%s: %s", label, errs[0])
	}
	if len(got[0]) < 2 {
		t.Fatalf("%s: outputs %v", label, reflect.ValueOf(got[0]).MapKeys())
	}
	for f, v := range got[1] {
		if !reflect.DeepEqual(got[0][f], v) {
			t.Errorf("%s: %s differs from the whole read's:\n%v\n%v", label, f, got[0][f], v)
		}
	}
	if len(got[0]) != len(got[1]) {
		t.Errorf("%s: %d files, the whole read %d", label, len(got[0]), len(got[1]))
	}
	if _, ok := got[0]["scores.nii.gz"]; name == "encode" && kind == "nifti" && !ok {
		t.Errorf("%s: no scores.nii.gz in the mask's space", label)
	}
}

// Only the chunks of masked voxels are read: a session whose chunk of voxel (0, 0, 0), outside
// the mask, is damaged scores as the intact one with the mask (the whole read fails, as before),
// and one whose chunk of voxel (3, 4, 5), inside it, fails alike, in one line naming the chunk;
// of the HDF5 session and of the .mat one (whose chunks are named by the dataset's axes,
// MATLAB's reversed).
func TestHDF5MaskedReadsDamaged(t *testing.T) {
	dir, masks := hdf5MaskStudy(t)
	src := filepath.Join("..", "..", "testdata", "hdf5")
	for _, session := range []struct{ file, where, chunk000, chunk345 string }{
		{"targets_session.hdf5", "targets_session.json", "[0 0 0 0]", "[0 3 4 5]"},
		{"targets_session.mat", "targets_session_mat.json", "[0 0 0 0]", "[5 4 3 0]"},
	} {
		b, err := os.ReadFile(filepath.Join(src, session.file))
		must(t, err)
		var where map[string]struct{ Offset, Size int }
		j, err := os.ReadFile(filepath.Join(src, session.where))
		must(t, err)
		must(t, json.Unmarshal(j, &where))
		ext := filepath.Ext(session.file)
		damaged := func(chunk string) string {
			c := bytes.Clone(b)
			w := where[chunk]
			if w.Size == 0 {
				t.Fatalf("no %s in %s", chunk, session.where)
			}
			for i := w.Offset; i < w.Offset+w.Size; i++ {
				c[i] = 0xff
			}
			p := filepath.Join(dir, chunk+ext)
			must(t, os.WriteFile(p, c, 0o644))
			return p
		}
		outside, inside := damaged("chunk_000"), damaged("chunk_345")
		x := filepath.Join(dir, "X.npy")
		run := func(brain, out string, mask bool) (string, int) {
			args := []string{"encode", "--features", x, "--brain", brain, "--brain-array", "betas", "--out", filepath.Join(dir, ext, out)}
			if mask {
				args = append(args, "--brain-mask", masks["npy"])
			}
			_, stderr, code := runCLI(t, args...)
			return stderr, code
		}
		if stderr, code := run(filepath.Join(src, session.file), "intact", true); code != 0 {
			t.Fatal(stderr)
		}
		if stderr, code := run(outside, "outside", true); code != 0 {
			t.Fatalf("%s: a damaged chunk outside the mask: %s", session.file, stderr)
		}
		want, err := os.ReadFile(filepath.Join(dir, ext, "intact", "scores.npy"))
		must(t, err)
		if got, err := os.ReadFile(filepath.Join(dir, ext, "outside", "scores.npy")); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: scores with a damaged chunk outside the mask differ (%v)", session.file, err)
		}
		for _, args := range [][]string{ // every command that takes a mask reads the masked chunks only
			{"ceiling", "--ids", filepath.Join(dir, "ids.txt")}, {"rsa", "--features", x}, {"sweep", "--features", filepath.Join(dir, "acts")},
			{"predict", "--features", x, "--new-features", x}} {
			out := filepath.Join(dir, ext, "outside-"+args[0])
			if _, stderr, code := runCLI(t, append(args, "--brain", outside, "--brain-array", "betas", "--brain-mask", masks["nifti"], "--out", out)...); code != 0 {
				t.Errorf("%s: %s, a damaged chunk outside the mask: %s", session.file, args[0], stderr)
			}
		}
		if stderr, code := run(outside, "nomask", false); code != 1 || !strings.Contains(stderr, `dataset "betas": chunk `+session.chunk000+`: deflate`) {
			t.Errorf("%s: the whole damaged session: exit %d, %s", session.file, code, stderr)
		}
		for _, direct := range []bool{true, false} {
			maskedReads = direct
			stderr, code := run(inside, "inside", true)
			maskedReads = true
			if code != 1 || !strings.Contains(stderr, inside+`: dataset "betas": chunk `+session.chunk345+`: deflate`) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("%s: a damaged chunk inside the mask (direct %v): exit %d, %q", session.file, direct, code, stderr)
			}
		}
	}
}
