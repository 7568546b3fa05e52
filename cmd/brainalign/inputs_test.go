package main

import (
	"context"
	"errors"
	"fmt"

	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/internal/intrange"
)

// TestReadIDs: a UTF-8 byte-order mark (Windows editors, Excel exports) and blank lines at the
// end are ignored; a blank line before an id would shift rows and is refused.
func TestReadIDs(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, text string
		want       []string
		err        string
	}{
		{"plain", "a\nb\nc\n", []string{"a", "b", "c"}, ""},
		{"bom", "\ufeffa\nb\r\nc", []string{"a", "b", "c"}, ""},
		{"trailing_blank", "a\nb\n\n  \n", []string{"a", "b"}, ""},
		{"inner_blank", "a\n\nb\n", nil, "line 2 is empty"},
		{"duplicate", "a\nb\na\n", nil, `id "a" on line 3 repeats line 1`},
		// UTF-16 (PowerShell 5's Out-File and > write it): its ids would hold NUL bytes, the
		// first line's also the byte-order mark, and pair with nothing or with the wrong rows
		{"utf16le", "\xff\xfea\x00\r\x00\n\x00b\x00\r\x00\n\x00", nil, "UTF-16 text"},
		{"utf16be", "\xfe\xff\x00a\x00\n\x00b\x00\n", nil, "UTF-16 text"},
		{"utf16le_no_bom", "a\x00\n\x00b\x00\n\x00", nil, "line 1 holds a NUL byte"},
	} {
		p := filepath.Join(dir, c.name+".txt")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readIDs(p)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err == "" && !reflect.DeepEqual(got, c.want):
			t.Errorf("%s: ids %q, want %q", c.name, got, c.want)
		}
	}
	// An array file given for ids other than a .npy (which TestReadIDsNPY reads) is named as
	// such, not as text with NUL bytes in it.
	for file, kind := range map[string]string{
		"arrays/bundle.npz": "a zip archive (.npz?), not text",
		"labels/labels.h5":  "an HDF5 file, not text",
		"labels/labels.mat": "a MATLAB file, not text",
	} {
		if _, err := readIDs(filepath.Join("..", "..", "testdata", file)); err == nil || !strings.Contains(err.Error(), kind) {
			t.Errorf("%s as ids: %v, want %q", file, err, kind)
		}
	}
}

// TestExitCodes: a signal's run exits 128 + its number (130 SIGINT, 143 SIGTERM) with a line
// saying what was kept; other cancellations 130.
func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
		msg  string
	}{
		{interrupted{syscall.SIGTERM}, 143, "interrupted (terminated)"},
		{fmt.Errorf("fold 2: %w", interrupted{os.Interrupt}), 130, "interrupted (interrupt)"},
		{context.Canceled, 130, "context canceled"},
		{errors.New("x.npy: bad"), 1, "x.npy: bad"},
	} {
		var b strings.Builder
		if got := exitCode(c.err, &b); got != c.code || !strings.Contains(b.String(), c.msg) {
			t.Errorf("%v: exit %d %q, want %d and %q", c.err, got, b.String(), c.code, c.msg)
		}
	}
	if !errors.Is(interrupted{syscall.SIGTERM}, context.Canceled) {
		t.Error("an interruption is not a cancellation")
	}
}

// TestEncodeBrainShapes: brain data of 2 or more axes (every element after the first axis a
// target; scores keep the trailing shape), a 1-d array refused, a bundle member chosen with
// --brain-array, and a NaN in 3-d data located by its index in the array.
func TestEncodeBrainShapes(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 60, 4, 24)
	y, err := array.Read(yp)
	if err != nil {
		t.Fatal(err)
	}
	data := append([]float64(nil), y[0].F64...)
	array.CloseAll(y)
	write := func(name string, shape []int, v any) string {
		p := filepath.Join(dir, name)
		if err := array.WriteNPY(p, shape, v); err != nil {
			t.Fatal(err)
		}
		return p
	}
	y4 := write("Y4.npy", []int{60, 2, 3, 4}, data)
	out := filepath.Join(dir, "o4")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", y4, "-o", out); code != 0 {
		t.Fatalf("4-d brain data: exit %d: %s", code, stderr)
	}
	s, err := array.Read(filepath.Join(out, "scores.npy"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s[0].Shape, []int{2, 3, 4}) {
		t.Errorf("scores of 4-d brain data: shape %v, want [2 3 4]", s[0].Shape)
	}
	array.CloseAll(s)

	y1 := write("Y1.npy", []int{60}, data[:60])
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", y1, "-o", filepath.Join(dir, "o1")); code != 1 ||
		!strings.Contains(stderr, "Y1.npy: brain data must have images on the first axis") {
		t.Errorf("1-d brain data: exit %d: %s", code, stderr)
	}

	nan := append([]float64(nil), data...)
	nan[7*24+2*4+3] = math.NaN() // image 7, channel 2, time 3 of 60 x 6 x 4
	y3 := write("Y3nan.npy", []int{60, 6, 4}, nan)
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", y3, "-o", filepath.Join(dir, "o3")); code != 1 ||
		!strings.Contains(stderr, "Y3nan.npy: non-finite value NaN at index [7 2 3]") {
		t.Errorf("NaN in 3-d brain data: exit %d: %s", code, stderr)
	}

	bundle := filepath.Join(dir, "Y.npz")
	arrs := []*array.Array{
		{Name: "betas", Shape: []int{60, 24}, DType: "float64", F64: data},
		{Name: "ids", Shape: []int{60}, DType: "int64", I64: make([]int64, 60)},
		{Name: "scale", Shape: []int{}, DType: "float64", F64: []float64{2}},
	}
	if err := array.WriteNPZ(bundle, arrs); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", bundle, "-o", filepath.Join(dir, "ob")); code != 1 ||
		!strings.Contains(stderr, "holds 3 arrays (betas, ids, scale); name one with --brain-array") {
		t.Errorf("brain bundle of two arrays: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", bundle, "--brain-array", "scale", "-o", filepath.Join(dir, "ob")); code != 1 ||
		!strings.Contains(stderr, bundle+": scale: 0-d array") {
		t.Errorf("scalar member: exit %d: %s (want the file named)", code, stderr)
	}
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", bundle, "--brain-array", "betas", "-o", filepath.Join(dir, "ob")); code != 0 {
		t.Errorf("--brain-array betas: exit %d: %s", code, stderr)
	}
}

// TestEncodeGroupsFollowBrainRows: group labels are per row of the brain file and follow its rows
// through id matching (rows dropped and reordered), giving the folds of the same data aligned
// by hand.
func TestEncodeGroupsFollowBrainRows(t *testing.T) {
	dir := t.TempDir()
	n, m := 60, 12
	xp, yp := writeStudy(t, dir, n, 4, m)
	ya, _ := array.Read(yp)
	y := append([]float64(nil), ya[0].F64...)
	array.CloseAll(ya)
	groups := make([]int64, n)
	for i := range groups {
		groups[i] = int64(i / 6) // 10 groups of 6 consecutive images
	}
	ids := func(rows []int) string {
		var b strings.Builder
		for _, r := range rows {
			fmt.Fprintf(&b, "img%03d\n", r)
		}
		return b.String()
	}
	writeFile := func(name, text string) string { return writeText(t, dir, name, text) }
	// Aligned by hand: X, Y and groups in the same order. Float64: matched rows follow the brain
	// file's order, so the folds hold the same rows in another order.
	gp := filepath.Join(dir, "G.npy")
	if err := array.WriteNPY(gp, []int{n}, groups); err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(dir, "ref")
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "--groups", gp, "--precision", "float64", "-o", ref); code != 0 {
		t.Fatal(stderr)
	}
	// The brain file reversed, with an extra image the features lack; its groups in its order.
	rows := make([]int, 0, n+1)
	for i := n - 1; i >= 0; i-- {
		rows = append(rows, i)
	}
	yr := make([]float64, 0, (n+1)*m)
	gr := make([]int64, 0, n+1)
	for _, r := range rows {
		yr = append(yr, y[r*m:(r+1)*m]...)
		gr = append(gr, groups[r])
	}
	yr = append(yr, y[:m]...) // image 999: unmatched
	gr = append(gr, 99)
	yrp, grp := filepath.Join(dir, "Yr.npy"), filepath.Join(dir, "Gr.npy")
	if err := array.WriteNPY(yrp, []int{n + 1, m}, yr); err != nil {
		t.Fatal(err)
	}
	if err := array.WriteNPY(grp, []int{n + 1}, gr); err != nil {
		t.Fatal(err)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	xids := writeFile("x.txt", ids(all))
	yids := writeFile("y.txt", ids(append(rows, 999)))
	got := filepath.Join(dir, "got")
	_, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yrp, "--features-ids", xids, "--brain-ids", yids, "--groups", grp, "--precision", "float64", "-o", got)
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, f := range []string{"fold_scores.npy", "alphas.npy"} {
		a, err := array.Read(filepath.Join(ref, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := array.Read(filepath.Join(got, f))
		if err != nil {
			t.Fatal(err)
		}
		for i := range a[0].F64 {
			if math.Abs(a[0].F64[i]-b[0].F64[i]) > 1e-9 {
				t.Fatalf("%s[%d]: %v with matched ids and the brain file's groups, %v aligned by hand", f, i, b[0].F64[i], a[0].F64[i])
			}
		}
		array.CloseAll(a)
		array.CloseAll(b)
	}
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yrp, "--features-ids", xids, "--brain-ids", yids, "--groups", gp, "-o", filepath.Join(dir, "bad")); code != 1 ||
		!strings.Contains(stderr, "60 group labels for the 61 rows of the brain data") {
		t.Errorf("groups for the matched rows rather than the brain file's: exit %d: %s", code, stderr)
	}
}

// TestEncodeRefusesTinyTestFolds: folds of fewer than 3 held-out rows (r undefined or always
// +-1) are refused rather than scored.
func TestEncodeRefusesTinyTestFolds(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 60, 4, 6)
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "--folds", "30", "-o", filepath.Join(dir, "o")); code != 1 ||
		!strings.Contains(stderr, "fold 0 has 2 test rows; a held-out Pearson r needs at least 3") {
		t.Errorf("--folds 30 on 60 rows: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "--folds", "20", "-o", filepath.Join(dir, "o")); code != 0 {
		t.Errorf("--folds 20 on 60 rows: exit %d: %s", code, stderr)
	}
}

// TestSweepStepsSettleTiedNames: checkpoints whose names give tied steps are refused, and
// --steps (one per checkpoint, in the order shown) settles them.
func TestSweepStepsSettleTiedNames(t *testing.T) {
	dir := t.TempDir()
	_, yp := writeStudy(t, dir, 40, 4, 6)
	model := filepath.Join(dir, "model")
	for _, ck := range []string{"run1_ckpt5", "run2_ckpt5"} {
		for l := 0; l < 2; l++ {
			x := make([]float32, 40*3)
			for i := range x {
				x[i] = float32((i*7+l*3+len(ck))%11) - 5
			}
			p := filepath.Join(model, ck, fmt.Sprintf("layer%d.npy", l))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := array.WriteNPY(p, []int{40, 3}, x); err != nil {
				t.Fatal(err)
			}
		}
	}
	args := []string{"sweep", "--features", model, "--brain", yp, "--alphas", "1,100", "--out", filepath.Join(dir, "s")}
	if _, stderr, code := runCLI(t, args...); code != 1 || !strings.Contains(stderr, "steps must increase") {
		t.Errorf("tied steps without --steps: exit %d: %s", code, stderr)
	}
	// --steps that do not increase: the message is about the steps given, not the names'.
	if _, stderr, code := runCLI(t, append(args, "--steps", "200,100")...); code != 1 || !strings.Contains(stderr, "--steps 200,100: step 100") {
		t.Errorf("decreasing --steps over tied names: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, append(args, "--steps", "100,200")...); code != 0 {
		t.Errorf("tied steps with --steps: exit %d: %s", code, stderr)
	}
}

// TestSweepLayerOrder: an .npz whose layer names mix numbered blocks with an embedding and a
// head warns that name order cannot place them; --layers sets the order (and a subset), and
// the table lists the layers in that order with their relative depth.
func TestSweepLayerOrder(t *testing.T) {
	dir := t.TempDir()
	_, yp := writeStudy(t, dir, 40, 4, 6)
	var arrs []*array.Array
	for k, name := range []string{"head", "blocks.0", "blocks.1", "patch_embed", "blocks.10"} {
		x := make([]float32, 40*3)
		for i := range x {
			x[i] = float32((i*7+k*5)%13) - 6
		}
		arrs = append(arrs, &array.Array{Name: name, Shape: []int{40, 3}, DType: "float32", F32: x})
	}
	bundle := filepath.Join(dir, "acts.npz")
	if err := array.WriteNPZ(bundle, arrs); err != nil {
		t.Fatal(err)
	}
	args := []string{"sweep", "--features", bundle, "--brain", yp, "--alphas", "1,100"}
	_, stderr, code := runCLI(t, append(args, "--out", filepath.Join(dir, "a"))...)
	if code != 0 || !strings.Contains(stderr, "warning: the layers' names fall in 3 groups (blocks.*, head, patch_embed)") {
		t.Errorf("mixed layer names: exit %d, stderr %q", code, stderr)
	}
	out := filepath.Join(dir, "b")
	_, stderr, code = runCLI(t, append(args, "--out", out, "--layers", "patch_embed,blocks.0,blocks.1,blocks.10")...)
	if code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("--layers: exit %d, stderr %q", code, stderr)
	}
	table, err := os.ReadFile(filepath.Join(out, "table.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(table)), "\n")[1:] {
		f := strings.Split(line, ",")
		got = append(got, f[4]+"@"+f[6]) // layer, relative_depth
	}
	if want := "patch_embed@0 blocks.0@0.3333333333 blocks.1@0.6666666667 blocks.10@1"; strings.Join(got, " ") != want {
		t.Errorf("table layers %q, want %q", strings.Join(got, " "), want)
	}
	if _, stderr, code := runCLI(t, append(args, "--out", filepath.Join(dir, "c"), "--layers", "blocks.0,nope")...); code != 2 ||
		!strings.Contains(stderr, `--layers: layer "nope" is not among the layers found`) {
		t.Errorf("--layers with an unknown layer: exit %d: %s", code, stderr)
	}
}

// TestEncodeRefusesInputsInsideOutput: --overwrite replaces the output directory as a whole, so
// an input inside it would be read and then deleted; the run is refused and the input kept.
func TestEncodeRefusesInputsInsideOutput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "results")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	xp, yp := writeStudy(t, out, 40, 4, 6) // X.npy and Y.npy inside results/
	link := filepath.Join(dir, "link")
	if err := os.Symlink(out, link); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{out, link} {
		_, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", o, "--overwrite")
		if code != 1 || !strings.Contains(stderr, "input inside the output directory") {
			t.Errorf("-o %s over its own inputs: exit %d: %s", o, code, stderr)
		}
	}
	if _, err := os.Stat(xp); err != nil {
		t.Errorf("input lost: %v", err)
	}
	if _, stderr, code := runCLI(t, "encode", "-x", xp, "-y", yp, "-o", filepath.Join(out, "sub")); code != 0 {
		t.Errorf("output inside the inputs' folder: exit %d: %s", code, stderr)
	}
}

// TestStudyOutFailureAndWorkDir: a failed or interrupted study part leaves no partial study
// where there was none (and an empty folder stays an empty folder); the working directory and
// its parents are refused as --study-out, with or without --overwrite.
func TestStudyOutFailureAndWorkDir(t *testing.T) {
	base := t.TempDir()
	fresh := filepath.Join(base, "fresh")
	empty := filepath.Join(base, "empty")
	os.Mkdir(empty, 0o755)
	for _, dir := range []string{fresh, empty} {
		err := replaceStudyOut(dir, func() error {
			os.MkdirAll(filepath.Join(dir, "sweeps", "units"), 0o755)
			os.WriteFile(filepath.Join(dir, "sweeps", "units", "u.json"), []byte("{}"), 0o644)
			return context.Canceled
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: error %v", dir, err)
		}
		entries, err := os.ReadDir(dir)
		switch {
		case dir == fresh && !os.IsNotExist(err):
			t.Errorf("partial study left in a new folder: %v %v", entries, err)
		case dir == empty && (err != nil || len(entries) != 0):
			t.Errorf("empty folder after a failed study: %v %v", entries, err)
		}
	}
	wd, _ := os.Getwd()
	sub := filepath.Join(base, "a", "b")
	os.MkdirAll(sub, 0o755)
	if err := os.Chdir(sub); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	for _, dir := range []string{".", "..", filepath.Join(base, "a")} {
		if err := checkStudyOut(dir, true); err == nil || !strings.Contains(err.Error(), "working directory") {
			t.Errorf("--study-out %s from %s: %v", dir, sub, err)
		}
	}
	if err := checkStudyOut(fresh, true); err != nil {
		t.Errorf("--study-out elsewhere: %v", err)
	}
}

// TestEncodeNaNWithIDs: with rows matched by id, a non-finite value is still located by its row
// (and index) in the file, not among the matched rows.
func TestEncodeNaNWithIDs(t *testing.T) {
	dir := t.TempDir()
	xp, yp := writeStudy(t, dir, 40, 4, 6)
	ya, _ := array.Read(yp)
	y := append([]float64(nil), ya[0].F64...)
	array.CloseAll(ya)
	y[30*6+4] = math.Inf(1) // file row 30, column 4
	y3 := filepath.Join(dir, "Y3.npy")
	if err := array.WriteNPY(y3, []int{40, 2, 3}, y); err != nil {
		t.Fatal(err)
	}
	var xi, yi strings.Builder
	for i := 0; i < 40; i++ {
		if i != 5 {
			fmt.Fprintf(&xi, "s%d\n", i) // features lack s5: brain row 30 becomes matched row 29
		}
		fmt.Fprintf(&yi, "s%d\n", i)
	}
	xr := filepath.Join(dir, "X39.npy")
	xa, _ := array.Read(xp)
	xs := append(append([]float32(nil), xa[0].F32[:5*4]...), xa[0].F32[6*4:]...)
	array.CloseAll(xa)
	if err := array.WriteNPY(xr, []int{39, 4}, xs); err != nil {
		t.Fatal(err)
	}
	xids, yids := filepath.Join(dir, "x.txt"), filepath.Join(dir, "y.txt")
	os.WriteFile(xids, []byte(xi.String()), 0o644)
	os.WriteFile(yids, []byte(yi.String()), 0o644)
	_, stderr, code := runCLI(t, "encode", "-x", xr, "-y", y3, "--features-ids", xids, "--brain-ids", yids, "-o", filepath.Join(dir, "o"))
	if code != 1 || !strings.Contains(stderr, "Y3.npy: non-finite value +Inf at index [30 1 1] (row 30, column 4") {
		t.Errorf("Inf with matched ids: exit %d: %s", code, stderr)
	}
	// A non-finite value in a row that id matching leaves out (s5, brain row 5) is not data.
	y[30*6+4] = 1
	y[5*6+2] = math.NaN()
	if err := array.WriteNPY(y3, []int{40, 2, 3}, y); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "encode", "-x", xr, "-y", y3, "--features-ids", xids, "--brain-ids", yids, "-o", filepath.Join(dir, "o")); code != 0 {
		t.Errorf("NaN only in a row left out: exit %d: %s", code, stderr)
	}
}

// TestSweepOutAndShardArguments: --out may not be the --features folder (its tables would be read
// as layers next time); --shard slurm outside a job array is a usage error.
func TestSweepOutAndShardArguments(t *testing.T) {
	dir := t.TempDir()
	_, yp := writeStudy(t, dir, 40, 4, 6)
	model := filepath.Join(dir, "model")
	os.MkdirAll(model, 0o755)
	for l := 0; l < 2; l++ {
		x := make([]float32, 40*3)
		for i := range x {
			x[i] = float32((i*5+l)%9) - 4
		}
		array.WriteNPY(filepath.Join(model, fmt.Sprintf("layer%d.npy", l)), []int{40, 3}, x)
	}
	args := []string{"sweep", "--features", model, "--brain", yp, "--alphas", "1,100"}
	if _, stderr, code := runCLI(t, append(args, "--out", model+"/.")...); code != 2 || !strings.Contains(stderr, "is the --features folder") {
		t.Errorf("--out the --features folder: exit %d: %s", code, stderr)
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "")
	if _, stderr, code := runCLI(t, append(args, "--out", filepath.Join(dir, "s"), "--shard", "slurm")...); code != 2 || !strings.Contains(stderr, "not in a Slurm job array") {
		t.Errorf("--shard slurm outside a job array: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, append(args, "--out", filepath.Join(model, "results"))...); code != 0 {
		t.Errorf("--out inside the --features folder: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runCLI(t, append(args, "--out", filepath.Join(model, "results"))...); code != 0 {
		t.Errorf("--out inside the --features folder, run again: exit %d: %s", code, stderr)
	}
}

// A flag of one value given twice is refused (urfave/cli would keep the last silently); lists
// repeat, switches may, and a value that looks like a flag is a value.
func TestFlagOfOneValueGivenTwice(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // "" for no such error
	}{
		{[]string{"encode", "--features", "a.npy", "--brain", "b.npy", "--features", "c.npy", "--out", "o"}, "--features given more than once"},
		{[]string{"encode", "--precision=float64", "--features", "a.npy", "-x", "c.npy"}, "--features given more than once"}, // -x: its alias
		{[]string{"sweep", "--out", "o", "--out=p"}, "--out given more than once"},
		{[]string{"encode", "--brain", "lh.npy", "--brain", "rh.npy", "--overwrite", "--overwrite"}, ""},
		{[]string{"spatial", "--v1", "-1,-2,-3", "--v1", "1,2,3", "--out", "o", "s1", "--out", "p"}, ""}, // after a folder: argsCommand's
	} {
		err := onceFlags(c.args)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: %v, want %q", c.args, err, c.want)
		}
	}
	_, stderr, code := runCLI(t, "encode", "--features", "a.npy", "--brain", "b.npy", "--precision", "float32", "--precision", "float64", "--out", t.TempDir())
	if code != 2 || !strings.Contains(stderr, "--precision given more than once") {
		t.Errorf("exit %d, %s", code, stderr)
	}
	// a repeated flag's two forms mixed: said in the words of the flags, not urfave/cli's
	_, stderr, code = runCLI(t, "temporal", "--out", t.TempDir(), "-s", "a", "--sweep", "b")
	if code != 2 || !strings.Contains(stderr, "-s and --sweep are one flag: give every repeat in one form (all -s, or all --sweep)") {
		t.Errorf("-s and --sweep mixed: exit %d, %s", code, stderr)
	}
}

// A comma in a path given to a repeatable flag is part of the path (runs named lr=1e-3,bs=256),
// not a list of two.
func TestCommaInRepeatedFlagPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "lr=1e-3,bs=256")
	must(t, os.MkdirAll(dir, 0o777))
	r := rand.New(rand.NewPCG(1, 2))
	x, y := make([]float32, 30*3), make([]float32, 30*4)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range y {
		y[i] = float32(r.NormFloat64())
	}
	xf, yf := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	must(t, array.WriteNPY(xf, []int{30, 3}, x))
	must(t, array.WriteNPY(yf, []int{30, 4}, y))
	mustRun(t, "encode", "--features", xf, "--brain", yf, "--alphas", "1,10", "--out", filepath.Join(dir, "out"))
}

// A NIfTI or MGH file without a time axis (one volume; an MGH file of one frame) is not brain
// data: read as images x (y, z) its first spatial axis would be taken for the images.
func TestBrainVolumeWithoutTimeRefused(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, shape string }{{"mask_uint8.nii", "3 x 2 x 2"}, {"int32_oneframe.mgh", "4 x 3 x 2"}} {
		brain := filepath.Join("..", "..", "testdata", "neuro", c.name)
		rows := int(c.shape[0] - '0')
		features := filepath.Join(dir, c.name+".npy")
		must(t, array.WriteNPY(features, []int{rows, 2}, make([]float64, 2*rows)))
		_, stderr, code := runCLI(t, "encode", "--features", features, "--brain", brain, "--folds", "2", "--out", filepath.Join(dir, c.name))
		if code == 0 || !strings.Contains(stderr, brain+": one volume of "+c.shape+" voxels (no time axis)") {
			t.Errorf("%s: exit %d, %s", c.name, code, stderr)
		}
	}
}

// TestUint64GroupLabels: uint64 labels are read as labels up to the int64 range; above it (read
// as float64, which merges labels a rounding apart) they are refused saying so, not as an array
// that is not integers.
func TestUint64GroupLabels(t *testing.T) {
	path := filepath.Join(t.TempDir(), "G.npy")
	write := func(vals ...uint64) {
		must(t, array.WriteNPY(path, []int{len(vals)}, vals))
	}
	write(3, 3, math.MaxInt) // the largest label an int holds (MaxInt64 on 64-bit systems)
	if g, err := readLabels(path, 3, "group"); err != nil || !slices.Equal(g, []int{3, 3, math.MaxInt}) {
		t.Errorf("uint64 groups within the int64 range: %v, %v", g, err)
	}
	write(3, 1<<63, 1<<63+1)
	if _, err := readLabels(path, 3, "group"); err == nil || !strings.Contains(err.Error(), "uint64 group labels above the int64 range (9.22337e+18)") {
		t.Errorf("uint64 groups above the int64 range: %v", err)
	}
}

// On a 32-bit system (intrange.Bits 32, as on 386 and arm) group and test-fold labels beyond
// int32 are refused, not wrapped around into other groups or folds.
func TestLabelsBeyondInt32Refused(t *testing.T) {
	defer func(b int) { intrange.Bits = b }(intrange.Bits)
	intrange.Bits = 32
	path := filepath.Join(t.TempDir(), "G.npy")
	must(t, array.WriteNPY(path, []int{3}, []int64{0, math.MaxInt32 + 1, 1}))
	if _, err := readLabels(path, 3, "group"); err == nil || !strings.Contains(err.Error(), path+": group label 1 is 2147483648, beyond the range of int on this 32-bit system") {
		t.Errorf("int64 groups beyond int32: %v", err)
	}
	must(t, array.WriteNPY(path, []int{3}, []uint64{0, 1, 1 << 40}))
	if _, err := readLabels(path, 3, "test fold"); err == nil || !strings.Contains(err.Error(), "test fold label 2 is 1099511627776, beyond the range of int on this 32-bit system") {
		t.Errorf("uint64 test folds beyond int32: %v", err)
	}
	must(t, array.WriteNPY(path, []int{3}, []int64{-1, math.MinInt32, math.MaxInt32}))
	if g, err := readLabels(path, 3, "test fold"); err != nil || !slices.Equal(g, []int{-1, math.MinInt32, math.MaxInt32}) {
		t.Errorf("labels within int32: %v, %v", g, err)
	}
}
