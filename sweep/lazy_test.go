package sweep_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/sweep"
)

// npyBytes returns a tn x td float32 .npy file of random values (seeded) as bytes.
func npyBytes(t *testing.T, seed uint64) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	x := make([]float32, tn*td)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	p := filepath.Join(t.TempDir(), "x.npy")
	if err := array.WriteNPY(p, []int{tn, td}, x); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stringsNPY returns a .npy file of n strings of 7 characters, as numpy saves a string array.
func stringsNPY(n int) []byte {
	dict := fmt.Sprintf("{'descr': '<U7', 'fortran_order': False, 'shape': (%d,), }", n)
	for (10+len(dict)+1)%64 != 0 {
		dict += " "
	}
	dict += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), byte(len(dict)>>8))
	b = append(b, dict...)
	return append(b, make([]byte, n*7*4)...)
}

// writeZip writes an .npz of the given members (name, bytes), all with one method.
func writeZip(t *testing.T, path string, method uint16, members ...[2]any) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m[0].(string), Method: method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m[1].([]byte))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func smoothBrain() engine.Matrix {
	y := engine.NewMatrix64(tn, tm, make([]float64, tn*tm))
	for i := range y.F64 {
		y.F64[i] = math.Sin(float64(i))
	}
	return y
}

// Files in a bundle that are not arrays (meta.json, README.txt, macOS metadata) are not layers:
// Discover passes over them, noting each, and the sweep scores the arrays.
func TestDiscoverSkipsMembersThatAreNotArrays(t *testing.T) {
	dir := t.TempDir()
	npz := filepath.Join(dir, "acts.npz")
	writeZip(t, npz, zip.Deflate,
		[2]any{"blocks.1.npy", npyBytes(t, 1)},
		[2]any{"meta.json", []byte(`{"model": "vit"}`)},
		[2]any{"blocks.0.npy", npyBytes(t, 0)},
		[2]any{"README.txt", []byte("activations\n")},
		[2]any{"__MACOSX/._blocks.0.npy", []byte("\x00\x05\x16\x07")},
		[2]any{"names.npy", stringsNPY(tn)}, // image names: np.array(["im0.jpg", ...])
	)
	p, err := sweep.Discover(npz, "")
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if got := strings.Join(p.Layers, ","); got != "blocks.0,blocks.1" {
		t.Errorf("layers %s, want blocks.0,blocks.1", got)
	}
	if len(p.Skipped) != 4 || !strings.Contains(p.Skipped[3], `unsupported dtype "<U7" (strings)`) {
		t.Fatalf("skipped %q, want meta.json, README.txt, __MACOSX/._blocks.0.npy and names.npy", p.Skipped)
	}
	for i, m := range []string{"meta.json", "README.txt", "__MACOSX/._blocks.0.npy", "names.npy"} {
		if s := p.Skipped[i]; !strings.HasPrefix(s, npz+": member "+m+": ") || strings.Contains(s, "\n") {
			t.Errorf("skipped note %q, want one line naming %s and member %s", s, npz, m)
		}
	}
	rep, err := sweep.Run(context.Background(), config(t, filepath.Join(dir, "out"), p, smoothBrain(), nil))
	if err != nil || rep.Computed != 2 || !rep.Merged {
		t.Fatalf("sweep: %+v, %v", rep, err)
	}
}

// A deflated member that is corrupt past its header stops the sweep only when its layer is
// scored: Discover lists it from its header, and a sweep of the other layers runs.
func TestCorruptMemberFailsOnlyWhenScored(t *testing.T) {
	dir := t.TempDir()
	npz := filepath.Join(dir, "ckpt.npz")
	z := writeZip(t, npz, zip.Deflate,
		[2]any{"l0.npy", npyBytes(t, 0)}, [2]any{"l1.npy", npyBytes(t, 1)}, [2]any{"l2.npy", npyBytes(t, 2)})
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	off, _ := zr.File[1].DataOffset()
	size := int64(zr.File[1].CompressedSize64)
	for i := off + size*3/4; i < off+size*3/4+8; i++ {
		z[i] ^= 0xa5
	}
	os.WriteFile(npz, z, 0o644)

	p, err := sweep.Discover(npz, "")
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if got := strings.Join(p.Layers, ","); got != "l0,l1,l2" {
		t.Fatalf("layers %s", got)
	}
	if err := p.OrderLayers([]string{"l0", "l2"}); err != nil {
		t.Fatal(err)
	}
	rep, err := sweep.Run(context.Background(), config(t, filepath.Join(dir, "some"), p, smoothBrain(), nil))
	if err != nil || rep.Computed != 2 {
		t.Fatalf("sweep of the good layers: %+v, %v", rep, err)
	}
	all, err := sweep.Discover(npz, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = sweep.Run(context.Background(), config(t, filepath.Join(dir, "all"), all, smoothBrain(), nil))
	if err == nil || !strings.Contains(err.Error(), npz+": member l1.npy: decompressing") || strings.Contains(err.Error(), "\n") {
		t.Errorf("sweep of every layer: %v, want one line naming the corrupt member", err)
	}
}

// --steps replaces the steps of the names: steps that do not increase are a *StepsError that
// talks about them, also when the names' own steps tie (Discover's error).
func TestSetStepsWhenNamesTie(t *testing.T) {
	for _, names := range [][]string{{"step1000_seed0", "step1000_seed1", "step5000_seed0"}, {"step1000", "step2000", "step5000"}} {
		dir := t.TempDir()
		for c, name := range names {
			os.MkdirAll(filepath.Join(dir, name), 0o755)
			for l := 0; l < 2; l++ {
				os.WriteFile(filepath.Join(dir, name, fmt.Sprintf("l%d.npy", l)), npyBytes(t, uint64(10*c+l)), 0o644)
			}
		}
		p, derr := sweep.Discover(dir, "")
		if p == nil {
			t.Fatalf("%v: no plan: %v", names, derr)
		}
		tie := names[0] == "step1000_seed0"
		if tie != (derr != nil) || tie && !strings.Contains(derr.Error(), "steps must increase") {
			t.Errorf("%v: Discover: %v", names, derr)
		}
		err := p.SetSteps([]float64{30, 20, 10})
		var se *sweep.StepsError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "step 20") || !strings.Contains(err.Error(), "step 30") ||
			!strings.Contains(err.Error(), "steps must increase") || strings.Contains(err.Error(), "step 1000") {
			t.Errorf("%v: SetSteps(30,20,10) = %v, want a StepsError about the steps given", names, err)
		}
		for _, bad := range [][]float64{{1, 2}, {1, math.NaN(), 3}, {-1, 2, 3}, {1, 2, 2}} {
			if err := p.SetSteps(bad); !errors.As(err, &se) {
				t.Errorf("%v: SetSteps(%v) = %v, want a StepsError", names, bad, err)
			}
		}
		if err := p.SetSteps([]float64{10, 20, 30}); err != nil || p.Checkpoints[1].Step != 20 {
			t.Errorf("%v: SetSteps(10,20,30): %v", names, err)
		}
	}
	// A problem of the plan itself is not the steps'.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "step1"), 0o755)
	os.WriteFile(filepath.Join(dir, "step1", "l0.npy"), npyBytes(t, 0), 0o644)
	p, _ := sweep.Discover(dir, "")
	var se *sweep.StepsError
	if err := p.SetSteps([]float64{5}); err == nil || errors.As(err, &se) {
		t.Errorf("SetSteps on a plan of one layer: %v, want the plan's error, not a StepsError", err)
	}
}
