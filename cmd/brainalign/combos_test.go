package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/sweep"
)

// TestModelFlagsRefusedBeforeReading: model and fold flags wrong in themselves or together are
// refused as encode, sweep and universal start, before the brain data are read: they were
// checked once the brain file was read (and matched by id), seconds per GB of a compressed
// file. The brain file here is not an array at all, so a command that reads it first fails on
// it instead.
func TestModelFlagsRefusedBeforeReading(t *testing.T) {
	dir := t.TempDir()
	xp, _ := writeStudy(t, dir, 30, 4, 3)
	brain := filepath.Join(dir, "brain.npy")
	if err := os.WriteFile(brain, []byte("not an array"), 0o644); err != nil {
		t.Fatal(err)
	}
	acts := twoLayers(t, dir, xp)
	ids := filepath.Join(dir, "ids.txt") // never read: the refusals come first
	commands := map[string][]string{
		"encode":    {"encode", "-x", xp, "-y", brain},
		"sweep":     {"sweep", "--features", acts, "-y", brain},
		"universal": {"universal", "--features", xp, "--features", xp, "-y", brain},
	}
	cases := []struct {
		flags []string
		want  string
	}{
		{[]string{"--alphas", "1,x"}, `--alphas "1,x"`},
		{[]string{"--inner", "kfold:1"}, `--inner "kfold:1"`},
		{[]string{"--folds", "1"}, "--folds: need at least 2"},
		{[]string{"--shuffle-seed", "4294967296"}, "numpy's seeds stop at 4294967295"},
		{[]string{"--groups", ids, "--shuffle-seed", "1"}, "--groups and --shuffle-seed exclude each other"},
		{[]string{"--test-fold", ids, "--folds", "3"}, "--test-fold and --folds exclude each other"},
		{[]string{"--test-ids", ids}, "needs --brain-ids"},
	}
	for name, cmd := range commands {
		for i, tc := range cases {
			args := append(append(slices.Clone(cmd), "-o", filepath.Join(dir, name, string(rune('a'+i)))), tc.flags...)
			_, stderr, code := runCLI(t, args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("%s %s: exit %d, %q; want exit 2 and %q", name, strings.Join(tc.flags, " "), code, stderr, tc.want)
			}
		}
	}
	_, stderr, code := runCLI(t, "encode", "-x", xp, "-y", brain, "-o", filepath.Join(dir, "ceil"), "--ceiling-min", "0.2")
	if code != 2 || !strings.Contains(stderr, "--ceiling-min needs --ceiling") {
		t.Errorf("encode --ceiling-min without --ceiling: exit %d, %q", code, stderr)
	}
}

// TestMergeOnlyTakesOutAlone: --merge-only merges the units as they were scored, so a flag
// beside --out is refused, naming it: a --ceiling (or --roi, --steps, --shard, a model option)
// given with it was silently not used, the tables merged without it. A variable of the
// environment (BRAINALIGN_DEVICE) is not a flag given, and -o is --out.
func TestMergeOnlyTakesOutAlone(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 30, 4, 3)
	acts := twoLayers(t, dir, xp)
	ceil := filepath.Join(dir, "ceiling.npy")
	if err := array.WriteNPY(ceil, []int{3}, []float64{0.5, 0.6, 0.7}); err != nil {
		t.Fatal(err)
	}
	sw := filepath.Join(dir, "sweep")
	mustRun(t, "sweep", "--features", acts, "-y", yp, "--out", sw)
	for _, extra := range [][]string{{"--ceiling", ceil}, {"--shard", "0/2"}, {"--alphas", "1,10"}, {"-y", yp}} {
		_, stderr, code := runCLI(t, append([]string{"sweep", "--merge-only", "--out", sw}, extra...)...)
		want := "--" + strings.TrimLeft(extra[0], "-")
		if extra[0] == "-y" {
			want = "--brain"
		}
		if code != 2 || !strings.Contains(stderr, "--merge-only takes --out alone") || !strings.Contains(stderr, want+" would not be used") {
			t.Errorf("sweep --merge-only %s: exit %d, %q; want it refused naming %s", strings.Join(extra, " "), code, stderr, want)
		}
	}
	// the resources of a run, which a job script may pass to every step, are no options of it
	if _, stderr, code := runCLI(t, "sweep", "--merge-only", "--out", sw, "--device", "cpu", "--memory", "1GiB"); code != 0 {
		t.Errorf("sweep --merge-only --device cpu --memory 1GiB: exit %d, %q", code, stderr)
	}
	t.Setenv("BRAINALIGN_DEVICE", "cpu")
	if _, stderr, code := runCLI(t, "sweep", "--merge-only", "-o", sw); code != 0 {
		t.Errorf("sweep --merge-only -o with BRAINALIGN_DEVICE set: exit %d, %q", code, stderr)
	}
}

// twoLayers makes a sweep's folder of two layers, both the activations xp.
func twoLayers(t *testing.T, dir, xp string) string {
	t.Helper()
	acts := filepath.Join(dir, "acts")
	if err := os.Mkdir(acts, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"layer-0.npy", "layer-1.npy"} {
		if err := os.Link(xp, filepath.Join(acts, l)); err != nil {
			t.Fatal(err)
		}
	}
	return acts
}

// TestSweepRecordsMaskAndIDs: sweep.json names the --brain-mask and the id files that chose the
// targets and rows its tables hold, as encode's summary.json does (brain_mask, the command line):
// it named neither, so a sweep of a .npy brain file's masked targets did not say which they are.
func TestSweepRecordsMaskAndIDs(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 30, 4, 3)
	acts := twoLayers(t, dir, xp)
	mask := filepath.Join(dir, "mask.npy")
	if err := array.WriteNPY(mask, []int{3}, []bool{true, false, true}); err != nil {
		t.Fatal(err)
	}
	ids := filepath.Join(dir, "ids.txt")
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "img%02d\n", i)
	}
	if err := os.WriteFile(ids, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	read := func(sw string) sweep.Manifest {
		var m sweep.Manifest
		data, err := os.ReadFile(filepath.Join(sw, "sweep.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	masked := filepath.Join(dir, "masked")
	mustRun(t, "sweep", "--features", acts, "-y", yp, "--brain-mask", mask, "--features-ids", ids, "--brain-ids", ids, "--out", masked)
	if m := read(masked); !slices.Equal(m.BrainMask, []string{mask}) || m.IDs == nil || m.IDs.Features != ids || !slices.Equal(m.IDs.Brain, []string{ids}) {
		t.Errorf("sweep.json of a masked sweep matched by id: brain_mask %v, ids %+v", m.BrainMask, m.IDs)
	}
	plain := filepath.Join(dir, "plain")
	mustRun(t, "sweep", "--features", acts, "-y", yp, "--out", plain)
	if m := read(plain); m.BrainMask != nil || m.IDs != nil {
		t.Errorf("sweep.json of a sweep of every target, rows as stored: brain_mask %v, ids %+v", m.BrainMask, m.IDs)
	}
}

// TestRepeatedBrainIDsSayWhatToDo: --brain-ids of trials (a stimulus on several lines) is refused
// saying how to average them first, as an epochs file's repeated events are; it named the lines
// only. Repeated feature ids are ambiguous, not trials: no such advice.
func TestRepeatedBrainIDsSayWhatToDo(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 30, 4, 3)
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "img%02d\n", i%15)
	}
	trials := filepath.Join(dir, "trials.txt")
	if err := os.WriteFile(trials, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Reset()
	for i := range 30 {
		fmt.Fprintf(&b, "img%02d\n", i)
	}
	ids := filepath.Join(dir, "ids.txt")
	if err := os.WriteFile(ids, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	const advice = "average repeated trials first with brainalign ceiling --brain BRAIN --ids "
	_, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "--features-ids", ids, "--brain-ids", trials, "-o", filepath.Join(dir, "a"))
	if code != 1 || !strings.Contains(stderr, `id "img00" on line 16 repeats line 1`) || !strings.Contains(stderr, advice+trials) {
		t.Errorf("repeated brain ids: exit %d, %q", code, stderr)
	}
	// the advice runs as written (BRAIN and DIR filled in) and writes the files it names
	_, advised, _ := strings.Cut(stderr, "average repeated trials first with brainalign ")
	advised, _, _ = strings.Cut(advised, ", then give")
	avg := filepath.Join(dir, "avg")
	args := strings.Fields(strings.NewReplacer("BRAIN", yp, "DIR", avg).Replace(advised))
	if _, errOut, code := runCLI(t, args...); code != 0 {
		t.Errorf("the advice, brainalign %s: exit %d, %q", strings.Join(args, " "), code, errOut)
	}
	for _, f := range []string{"averaged.npy", "averaged_ids.txt"} {
		if _, err := os.Stat(filepath.Join(avg, f)); err != nil || !strings.Contains(stderr, "DIR/"+f) {
			t.Errorf("the advice's %s: %v, in %q", f, err, stderr)
		}
	}
	_, stderr, code = runCLI(t, "encode", "-x", xp, "-y", yp, "--features-ids", trials, "--brain-ids", ids, "-o", filepath.Join(dir, "b"))
	if code != 1 || !strings.Contains(stderr, `id "img00" on line 16 repeats line 1`) || strings.Contains(stderr, "average") {
		t.Errorf("repeated feature ids: exit %d, %q", code, stderr)
	}
}

// TestSweepIDsAsStored: ids that pair every row as stored pair the rows a run without them does,
// so either reruns the other's folder (the data digest was of whether ids were given: a rerun
// with them was refused as other brain data); ids that pair rows in another order are still
// another pairing. Folders of earlier versions, whose digest of such ids hashed the rows copied
// (row-major) with the pairing, are reused with and without the ids and keep their digest. The
// digests wanted are sweep.DataDigest of the values as written, row-major, or column-major for
// the same values in a Fortran-order .npy (a run without ids holds them as read).
func TestSweepIDsAsStored(t *testing.T) {
	keepFlagDefaults(t)
	const n, m = 30, 3
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, n, 4, m)
	acts := twoLayers(t, dir, xp)
	values := readNPY(t, yp).F64
	colMajor := make([]float64, n*m)
	for i := range n {
		for j := range m {
			colMajor[j*n+i] = values[i*m+j]
		}
	}
	fortran := filepath.Join(dir, "fortran.npy")
	must(t, array.WriteNPY(fortran, []int{n, m}, colMajor))
	b, err := os.ReadFile(fortran)
	must(t, err)
	header := strings.Replace(string(b[:128]), "'fortran_order': False,", "'fortran_order': True, ", 1)
	must(t, os.WriteFile(fortran, append([]byte(header), b[128:]...), 0o644))
	if a := readNPY(t, fortran); !a.Fortran || a.F64[1] != values[m] {
		t.Fatalf("the fixture is not the brain data in Fortran order: %v", a.Fortran)
	}

	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("img%02d", i)
	}
	idsPath := writeText(t, dir, "ids.txt", strings.Join(names, "\n")+"\n")
	// the features' rows 0 and 1 are of img01 and img00: brain row 0 pairs with feature row 1
	names[0], names[1] = names[1], names[0]
	swappedPath := writeText(t, dir, "swapped.txt", strings.Join(names, "\n")+"\n")
	asStored := make([]int, n)
	for i := range asStored {
		asStored[i] = i
	}
	rowMajor := engine.NewMatrix64(n, m, values)
	// earlier versions' digest of ids that pair the rows as stored: the rows copied row-major
	legacyDigest := sweep.DataDigest(rowMajor, asStored)

	digestOf := func(sw string) string {
		t.Helper()
		return get(t, readJSON(t, filepath.Join(sw, "sweep.json")), "data_digest").(string)
	}
	sweepRun := func(sw, brain string, extra ...string) string {
		t.Helper()
		return mustRun(t, append([]string{"sweep", "--features", acts, "-y", brain, "--out", sw}, extra...)...)
	}
	withIDs := []string{"--features-ids", idsPath, "--brain-ids", idsPath}
	reordered := []string{"--features-ids", swappedPath, "--brain-ids", idsPath}
	for _, c := range []struct {
		name, brain string
		want        string // the digest of the data as read
	}{
		{"row-major", yp, sweep.DataDigest(rowMajor, nil)},
		{"column-major", fortran, sweep.DataDigest(engine.Matrix{Rows: n, Cols: m, F64: colMajor, ColMajor: true}, nil)},
	} {
		reused := func(what, out string) {
			t.Helper()
			if !strings.Contains(out, "scored 0, reused 2 already done") {
				t.Errorf("%s, %s: not reused:\n%s", c.name, what, out)
			}
		}
		dryRun := func(what, sw string, extra ...string) {
			t.Helper()
			if out := sweepRun(sw, c.brain, append([]string{"--dry-run"}, extra...)...); !strings.Contains(out, "2 done, 0 to score") {
				t.Errorf("%s, %s: the dry run would score again:\n%s", c.name, what, out)
			}
		}
		plain := filepath.Join(dir, c.name+"-plain")
		sweepRun(plain, c.brain)
		dryRun("without ids, then with ids pairing the rows as stored", plain, withIDs...)
		reused("without ids, then with ids pairing the rows as stored", sweepRun(plain, c.brain, withIDs...))
		if got := digestOf(plain); got != c.want {
			t.Errorf("%s: data digest %s, want %s", c.name, got, c.want)
		}
		wantError(t, 1, "holds a sweep of other brain data: same shape and options, but other values or another pairing of stimulus ids",
			append([]string{"sweep", "--features", acts, "-y", c.brain, "--out", plain}, reordered...)...)

		paired := filepath.Join(dir, c.name+"-ids")
		sweepRun(paired, c.brain, withIDs...)
		if got := digestOf(paired); got != c.want {
			t.Errorf("%s: data digest of ids pairing the rows as stored %s, want %s (as without ids)", c.name, got, c.want)
		}
		reused("with ids pairing the rows as stored, then without", sweepRun(paired, c.brain))

		// an earlier version's folder of the ids: its sweep.json and unit records hold the
		// digest of the rows copied with their pairing
		legacy := filepath.Join(dir, c.name+"-legacy")
		sweepRun(legacy, c.brain, withIDs...)
		replaced := 0
		must(t, filepath.Walk(legacy, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || filepath.Ext(p) != ".json" {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if s := string(b); strings.Contains(s, `"data_digest": "`+c.want+`"`) {
				replaced++
				return os.WriteFile(p, []byte(strings.ReplaceAll(s, c.want, legacyDigest)), 0o644)
			}
			return nil
		}))
		if replaced != 3 { // sweep.json and the two units' records
			t.Fatalf("%s: the digest replaced in %d files, want 3", c.name, replaced)
		}
		dryRun("an earlier version's folder of ids, rerun with them", legacy, withIDs...)
		dryRun("an earlier version's folder of ids, rerun without them", legacy)
		reused("an earlier version's folder of ids, rerun with them", sweepRun(legacy, c.brain, withIDs...))
		reused("an earlier version's folder of ids, rerun without them", sweepRun(legacy, c.brain))
		if got := digestOf(legacy); got != legacyDigest {
			t.Errorf("%s: an earlier version's folder: data digest %s, want its own %s kept", c.name, got, legacyDigest)
		}
		wantError(t, 1, "holds a sweep of other brain data: same shape and options, but other values or another pairing of stimulus ids",
			append([]string{"sweep", "--features", acts, "-y", c.brain, "--out", legacy}, reordered...)...)
	}
}
