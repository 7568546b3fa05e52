package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// A sweep of an MNE epochs file takes the MEG times from it (the temporal score needs no
// --times): meta/times.npy holds MNE's epochs.times; --times of an epochs file reads its times,
// not its data.
func TestSweepEpochsFileTimes(t *testing.T) {
	epochs := filepath.Join("..", "..", "testdata", "fif", "split-epo.fif") // 24 epochs x 5 channels x 31 times
	var exp struct {
		Files map[string]struct {
			Times    []float64 `json:"times"`
			Channels []string  `json:"ch_names"`
		} `json:"files"`
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fif", "expected.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &exp))
	want := exp.Files["split-epo.fif"].Times
	if len(want) != 31 {
		t.Fatalf("expected.json: %d times for split-epo.fif", len(want))
	}
	dir := t.TempDir()
	model := filepath.Join(dir, "model", "ckpt-1")
	must(t, os.MkdirAll(model, 0o777))
	r := rand.New(rand.NewPCG(3, 4))
	for _, l := range []string{"layer0.npy", "layer1.npy"} {
		x := make([]float32, 24*4)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		must(t, array.WriteNPY(filepath.Join(model, l), []int{24, 4}, x))
	}
	check := func(sw string) {
		t.Helper()
		times := readNPY(t, filepath.Join(sw, "meta", "times.npy"))
		for i, v := range want {
			if math.Abs(times.F64[i]-v) > 1e-12 {
				t.Fatalf("%s: time %d = %v, MNE's %v", sw, i, times.F64[i], v)
			}
		}
	}
	sw := filepath.Join(dir, "sweep")
	_, stderr, code := runCLI(t, "sweep", "--features", filepath.Join(dir, "model"), "--brain", epochs, "--alphas", "1,100", "--out", sw)
	if code != 0 || !strings.Contains(stderr, "note: MEG times taken from "+epochs+" (31 samples, -0.1 to 0.2 s") {
		t.Fatalf("sweep of an epochs file: exit %d, %s", code, stderr)
	}
	check(sw)
	// and its channels, so that subjects are pooled channel by channel only where they agree
	if got, want := readFile(t, filepath.Join(sw, "meta", "channels.txt")), strings.Join(exp.Files["split-epo.fif"].Channels, "\n")+"\n"; got != want || len(want) < 10 {
		t.Errorf("meta/channels.txt %q, want MNE's %q", got, want)
	}
	ch := exp.Files["split-epo.fif"].Channels
	if out := mustRun(t, "inspect", sw); !strings.Contains(out, fmt.Sprintf("  %d MEG channels: %s (", len(ch), strings.Join(ch, ", "))) {
		t.Errorf("inspect of a sweep of an epochs file does not list its %d channels:\n%s", len(ch), out)
	}
	times := filepath.Join(dir, "times-from")
	_, stderr, code = runCLI(t, "sweep", "--features", filepath.Join(dir, "model"), "--brain", epochs, "--times", epochs, "--alphas", "1,100", "--out", times)
	if code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("--times of the same epochs: exit %d, %s", code, stderr)
	}
	check(times)
	// Other times than the epochs' (a trigger delay corrected, or a mistake) are used, and said.
	shifted := make([]float64, len(want))
	for i, v := range want {
		shifted[i] = v + 0.05
	}
	must(t, array.WriteNPY(filepath.Join(dir, "shifted.npy"), []int{len(shifted)}, shifted))
	_, stderr, code = runCLI(t, "sweep", "--features", filepath.Join(dir, "model"), "--brain", epochs, "--times", filepath.Join(dir, "shifted.npy"),
		"--alphas", "1,100", "--out", filepath.Join(dir, "shifted"))
	if code != 0 || !strings.Contains(stderr, "warning: --times "+filepath.Join(dir, "shifted.npy")+" (-0.05 to 0.25 s) replaces the times of the epochs in "+epochs+" (-0.1 to 0.2 s)") {
		t.Fatalf("--times other than the epochs': exit %d, %s", code, stderr)
	}
}
