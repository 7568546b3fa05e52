package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/internal/sysmem"
)

// brainalign bench: the stage table, the throughput lines and the JSON record of a small
// workload scored as several layers; bad settings are usage errors (exit 2) before any work.
func TestBenchCommand(t *testing.T) {
	dir := t.TempDir()
	js := filepath.Join(dir, "bench.json")
	out, stderr, code := runCLI(t, "bench", "--workload", "small", "-m", "300", "--layers", "3", "--json", js)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"workload custom", "3 layer(s) scored", "decompose", "products", "total", "TFLOP/s over the whole run", "scores: mean r"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Layers    int     `json:"layers"`
		Lookahead bool    `json:"lookahead"`
		TFLOPS    float64 `json:"tflops_per_second"`
		Peak      any     `json:"peak_tflops"`
		Workload  struct {
			N, D, M int
		} `json:"workload"`
		Model struct {
			Inner, Precision string
			Folds            int
		} `json:"model"`
		Host hostInfo `json:"host"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	// only the cuda engine starts on the next layer early (engine.Preparer)
	if rec.Layers != 3 || rec.TFLOPS <= 0 || rec.Workload.M != 300 || rec.Lookahead != (defaultDevice != "cpu") {
		t.Errorf("record %+v", rec)
	}
	// the settings in words, and the machine the timings were taken on
	if rec.Model.Inner != "loo" || rec.Model.Precision != "float32" || rec.Model.Folds != 5 ||
		rec.Host.OS != runtime.GOOS || rec.Host.Arch != runtime.GOARCH || rec.Host.Cores != runtime.GOMAXPROCS(0) || rec.Host.Go == "" {
		t.Errorf("record's model %+v, host %+v", rec.Model, rec.Host)
	}
	// the CPU engine knows no peak: null, not a peak of 0 (a given --peak-tflops is recorded)
	if defaultDevice == "cpu" && rec.Peak != nil {
		t.Errorf("peak_tflops %v of the CPU engine, want null", rec.Peak)
	}
	if _, stderr, code := runCLI(t, "bench", "--workload", "small", "-m", "50", "--peak-tflops", "2.5", "--json", js); code != 0 {
		t.Fatalf("with --peak-tflops: exit %d: %s", code, stderr)
	}
	if b, err := os.ReadFile(js); err != nil || !strings.Contains(string(b), `"peak_tflops": 2.5`) {
		t.Errorf("--peak-tflops 2.5 not recorded: %v\n%s", err, b)
	}
	if !strings.Contains(out, "host "+runtime.GOOS+"/"+runtime.GOARCH) {
		t.Errorf("output lacks the host line:\n%s", out)
	}
	for _, args := range [][]string{
		{"--layers", "0"},
		{"--folds", "1"},
		{"-n", "0"},
		{"--workload", "huge"},
		{"--precision", "float16"},
		{"--peak-tflops", "-50"}, // was taken for no peak given
		{"--peak-tflops", "NaN"}, // likewise
		{"--peak-tflops", "Inf"}, // printed a peak of +Inf TFLOP/s, 0.0% of it reached
		{"--json", filepath.Join(dir, "missing", "b.json")},
		{"--json", dir}, // a folder: refused before the run, not after
	} {
		if _, stderr, code := runCLI(t, append([]string{"bench"}, args...)...); code != 2 {
			t.Errorf("bench %v: exit %d, want 2 (%s)", args, code, stderr)
		}
	}
}

// A workload whose data cannot fit in memory is refused, naming its size, before anything is
// allocated (the runtime ended the process with its fatal out-of-memory error and a dump of every
// goroutine); and a --json file in a folder that cannot be written, before the workload is run
// (a W1 run lost its record after minutes).
func TestBenchRefusesFirst(t *testing.T) {
	if _, ok := sysmem.Available(); ok {
		_, stderr, code := runCLI(t, "bench", "-n", "4000000000", "-d", "4000000000", "-m", "3")
		if code != 1 || !strings.Contains(stderr, "-n 4000000000 -d 4000000000 -m 3: about") || !strings.Contains(stderr, "of memory needed") {
			t.Errorf("bench of 1.6e19 activations: exit %d, stderr %q", code, stderr)
		}
	}
	if os.Geteuid() == 0 {
		t.Skip("root writes into a folder of mode 0555: make test-unprivileged runs this as nobody")
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(ro, 0o755)
	js := filepath.Join(ro, "bench.json")
	out, stderr, code := runCLI(t, "bench", "--json", js)
	if code != 1 || !strings.Contains(stderr, "--json "+js+": "+ro+": cannot be written") || out != "" {
		t.Errorf("bench --json in a read-only folder: exit %d, stderr %q, stdout %q; want exit 1 before any output", code, stderr, out)
	}
}
