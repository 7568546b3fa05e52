package engine

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestKFoldSizes: scikit-learn's KFold gives the first n%k folds one extra row, contiguous.
func TestKFoldSizes(t *testing.T) {
	folds, err := KFold(107, 10)
	if err != nil {
		t.Fatal(err)
	}
	next := 0
	for f, fold := range folds {
		want := 10
		if f < 7 {
			want = 11
		}
		if len(fold.Test) != want || len(fold.Train) != 107-want {
			t.Fatalf("fold %d: %d test / %d train rows, want %d / %d", f, len(fold.Test), len(fold.Train), want, 107-want)
		}
		for _, i := range fold.Test {
			if i != next {
				t.Fatalf("fold %d: test rows not contiguous (row %d, want %d)", f, i, next)
			}
			next++
		}
	}
	if err := ValidateFolds(folds, 107, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := KFold(4, 5); err == nil || !strings.Contains(err.Error(), "4 rows cannot make 5 folds") {
		t.Errorf("KFold(4, 5): %v", err)
	}
	if _, err := KFold(10, 1); err == nil {
		t.Error("KFold(10, 1) accepted")
	}
	// k == n is leave-one-out, which scikit-learn's KFold(5).split(range(5)) allows: test folds
	// [0] [1] [2] [3] [4].
	loo, err := KFold(5, 5)
	if err != nil {
		t.Fatalf("KFold(5, 5): %v", err)
	}
	for f, fold := range loo {
		if fmt.Sprint(fold.Test) != fmt.Sprint([]int{f}) || len(fold.Train) != 4 {
			t.Errorf("KFold(5, 5) fold %d: test %v train %v, want test [%d] and 4 training rows", f, fold.Test, fold.Train, f)
		}
	}
}

// TestShuffledKFoldMatchesScikitLearn: test rows of KFold(k, shuffle=True, random_state=seed)
// from Debian's scikit-learn 1.2.1 (numpy 1.24).
func TestShuffledKFoldMatchesScikitLearn(t *testing.T) {
	for _, c := range []struct {
		n, k int
		seed uint32
		want [][]int
	}{
		{10, 3, 0, [][]int{{2, 4, 8, 9}, {1, 6, 7}, {0, 3, 5}}},
		{23, 5, 42, [][]int{{0, 8, 9, 15, 17}, {1, 2, 5, 12, 13}, {3, 4, 11, 18, 20}, {7, 16, 21, 22}, {6, 10, 14, 19}}},
		{100, 5, 12345, [][]int{
			{4, 9, 13, 20, 25, 28, 33, 35, 40, 42, 49, 51, 60, 63, 65, 69, 75, 78, 86, 88},
			{0, 2, 6, 8, 17, 26, 30, 37, 39, 45, 46, 47, 50, 52, 54, 57, 71, 76, 87, 92},
			{12, 16, 18, 19, 21, 22, 24, 27, 32, 48, 58, 62, 68, 74, 79, 83, 84, 85, 89, 95},
			{3, 5, 15, 23, 31, 44, 53, 55, 56, 61, 64, 66, 67, 70, 72, 90, 91, 93, 94, 96},
			{1, 7, 10, 11, 14, 29, 34, 36, 38, 41, 43, 59, 73, 77, 80, 81, 82, 97, 98, 99}}},
		{7, 2, 4294967295, [][]int{{0, 1, 5, 6}, {2, 3, 4}}},
	} {
		folds, err := ShuffledKFold(c.n, c.k, c.seed)
		if err != nil {
			t.Fatal(err)
		}
		for f, want := range c.want {
			if fmt.Sprint(folds[f].Test) != fmt.Sprint(want) {
				t.Errorf("n=%d k=%d seed=%d fold %d: %v, scikit-learn %v", c.n, c.k, c.seed, f, folds[f].Test, want)
			}
		}
		if err := ValidateFolds(folds, c.n, 1); err != nil {
			t.Error(err)
		}
	}
}

// TestGroupKFoldMatchesScikitLearn: the test rows of each fold are those of scikit-learn
// 1.2.1's GroupKFold(k).split on the same groups (printed by Debian's scikit-learn).
func TestGroupKFoldMatchesScikitLearn(t *testing.T) {
	for _, c := range []struct {
		groups []int
		k      int
		want   [][]int
	}{
		{[]int{3, 3, 3, 1, 1, 2, 2, 2, 2, 5, 9, 9}, 3, [][]int{{5, 6, 7, 8}, {0, 1, 2, 9}, {3, 4, 10, 11}}},
		{[]int{0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6}, 4, [][]int{{2, 3, 10, 11}, {0, 1, 8, 9}, {6, 7, 12}, {4, 5}}},
		{[]int{7, 7, 7, 2, 2, 2, 5, 5, 5, 1, 1, 1, 4}, 3, [][]int{{0, 1, 2, 9, 10, 11}, {6, 7, 8, 12}, {3, 4, 5}}},
		// As many groups as folds: each group is one fold.
		{[]int{4, 4, 1, 2, 2, 2}, 3, [][]int{{3, 4, 5}, {0, 1}, {2}}},
	} {
		folds, err := GroupKFold(c.groups, c.k)
		if err != nil {
			t.Fatal(err)
		}
		for f, want := range c.want {
			if fmt.Sprint(folds[f].Test) != fmt.Sprint(want) {
				t.Errorf("groups %v, fold %d: test rows %v, scikit-learn %v", c.groups, f, folds[f].Test, want)
			}
		}
		if err := ValidateFolds(folds, len(c.groups), 1); err != nil {
			t.Error(err)
		}
	}
	if _, err := GroupKFold([]int{1, 1, 2}, 3); err == nil {
		t.Error("2 groups accepted for 3 folds")
	}
	// scikit-learn's GroupKFold(1) refuses: at least 2 splits.
	if _, err := GroupKFold([]int{1, 1, 2}, 1); err == nil {
		t.Error("GroupKFold with 1 fold accepted")
	}
}

func TestValidateFoldsRejects(t *testing.T) {
	for _, c := range []struct {
		folds []Fold
		want  string
	}{
		{nil, "no folds"},
		{[]Fold{{Train: []int{0, 1}, Test: nil}}, "no test rows"},
		{[]Fold{{Train: []int{0}, Test: []int{1}}}, "fewer than the 2 needed"},
		{[]Fold{{Train: []int{0, 1}, Test: []int{1}}}, "twice"},
		{[]Fold{{Train: []int{0, 1}, Test: []int{9}}}, "row 9 of 3"},
		{[]Fold{{Train: []int{0, 1}, Test: []int{-1}}}, "row -1 of 3"},
	} {
		err := ValidateFolds(c.folds, 3, 2)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.folds, err, c.want)
		}
	}
}

func TestParseAlphas(t *testing.T) {
	a, err := ParseAlphas("logspace:0:8:9")
	if err != nil || len(a) != 9 || a[0] != 1 || math.Abs(a[8]-1e8) > 1e-6 || math.Abs(a[3]-1000) > 1e-9 {
		t.Fatalf("logspace: %v %v", a, err)
	}
	if a, err := ParseAlphas("1, 10,0.5"); err != nil || len(a) != 3 || a[2] != 0.5 {
		t.Fatalf("list: %v %v", a, err)
	}
	for _, bad := range []string{"", "0", "-1", "1,x", "logspace:0:8", "logspace:0:8:0", "inf", "nan"} {
		if _, err := ParseAlphas(bad); err == nil {
			t.Errorf("ParseAlphas(%q) accepted", bad)
		}
	}
	// Messages say what is wrong with what was written.
	for _, tc := range []struct{ in, want string }{
		{"logspace:a:b:3", "LO and HI powers of ten"},
		{"logspace:0:8:x", "NUM a whole number"},
		{"logspace:0:400:3", "range of float64"},
		{"1e400", "1e400 is beyond float64's range"},
		{"1,1e-400", "1e-400 is too small"},
		{"0", "penalty 0 is not"},
	} {
		_, err := ParseAlphas(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseAlphas(%q): %v, want a message containing %q", tc.in, err, tc.want)
		}
	}
}

func TestParseInnerRoundTrip(t *testing.T) {
	for _, s := range []string{"loo", "gcv", "kfold:5", "kfold:3:pearson"} {
		in, err := ParseInner(s)
		if err != nil || in.String() != s {
			t.Errorf("ParseInner(%q) = %v, %v", s, in, err)
		}
	}
	if in, _ := ParseInner("kfold:4:r2"); in.String() != "kfold:4" || in.Score != R2 {
		t.Errorf("kfold:4:r2 = %+v", in)
	}
	for _, bad := range []string{"lo", "kfold", "kfold:1", "kfold:x", "kfold:3:mse", "kfold:3:r2:x"} {
		if _, err := ParseInner(bad); err == nil {
			t.Errorf("ParseInner(%q) accepted", bad)
		}
	}
	for _, s := range []string{"float32", "float64", "tf32"} {
		if p, err := ParsePrecision(s); err != nil || p.String() != s {
			t.Errorf("ParsePrecision(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParsePrecision("half"); err == nil {
		t.Error("ParsePrecision(half) accepted")
	}
}

// TestMatrixLayouts: row-major, column-major, float32 and float64 views of one matrix gather
// the same values, and non-finite values are located in (row, column) terms.
func TestMatrixLayouts(t *testing.T) {
	rows, cols := 4, 3
	rm := make([]float64, rows*cols)
	cm := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v := float64(10*i + j)
			rm[i*cols+j] = v
			cm[j*rows+i] = float32(v)
		}
	}
	a := NewMatrix64(rows, cols, rm)
	b := Matrix{Rows: rows, Cols: cols, ColMajor: true, F32: cm}
	pick := []int{3, 1}
	ga, gb := make([]float64, 2*2), make([]float64, 2*2)
	a.GatherCols64(pick, 1, 3, ga)
	b.GatherCols64(pick, 1, 3, gb)
	g32 := make([]float32, 4)
	b.GatherCols32(pick, 1, 3, g32)
	want := []float64{31, 32, 11, 12}
	for k := range want {
		if ga[k] != want[k] || gb[k] != want[k] || float64(g32[k]) != want[k] {
			t.Fatalf("gather: %v %v %v, want %v", ga, gb, g32, want)
		}
	}
	rowsOut := make([]float64, 2*cols)
	b.GatherRows(pick, rowsOut)
	if rowsOut[0] != 30 || rowsOut[5] != 12 {
		t.Fatalf("GatherRows: %v", rowsOut)
	}
	cm[2*rows+1] = float32(math.NaN()) // row 1, column 2
	if err := b.CheckFinite("Y.npy"); err == nil || !strings.Contains(err.Error(), "row 1, column 2") {
		t.Errorf("CheckFinite: %v", err)
	}
	// columns a mask took from a file's: the value is named where it is in the file
	b.SourceColumns = []int{0, 5, 9}
	if err := b.CheckFinite("Y.npy"); err == nil || !strings.HasSuffix(err.Error(), "at row 1, column 9 (masked target 2)") {
		t.Errorf("CheckFinite of masked columns: %v", err)
	}
	b.Shape = []int{4, 2, 5}
	if err := b.CheckFinite("Y.npy"); err == nil || !strings.HasSuffix(err.Error(), "at index [1 1 4] (row 1, column 9 of the rows x targets matrix, masked target 2)") {
		t.Errorf("CheckFinite of masked columns of a 3-d array: %v", err)
	}
	b.Shape, b.SourceColumns = nil, nil
	if err := (Matrix{Rows: 2, Cols: 2, F32: make([]float32, 3)}).Validate("X"); err == nil {
		t.Error("Validate accepted 3 values for 2 x 2")
	}
}

func TestRegistry(t *testing.T) {
	Register("fake", func(dev int) (Engine, error) {
		if dev > 0 {
			return nil, errors.New("no such device")
		}
		return nil, nil
	})
	if _, err := New("fake:0"); err != nil {
		t.Error(err)
	}
	if _, err := New("fake:2"); err == nil {
		t.Error("fake:2 accepted")
	}
	if _, err := New("fake:x"); err == nil {
		t.Error("fake:x accepted")
	}
	if _, err := New("nope"); err == nil || !strings.Contains(err.Error(), "fake") {
		t.Errorf("unknown engine: %v (should list the kinds)", err)
	}
}

// TestCheckFiniteRows: only the rows asked for are checked, in every storage; the value is named
// by its row in the matrix (and its index in a 3-d shape).
func TestCheckFiniteRows(t *testing.T) {
	v := []float64{0, 1, 2, 3, 4, 5, math.NaN(), 7, 8, 9, 10, 11} // 3 x 4: NaN at (1, 2)
	cm := make([]float64, 12)
	for i := 0; i < 3; i++ {
		for j := 0; j < 4; j++ {
			cm[i+3*j] = v[i*4+j]
		}
	}
	f32 := make([]float32, 12)
	for k, x := range v {
		f32[k] = float32(x)
	}
	for name, m := range map[string]Matrix{
		"f64": NewMatrix64(3, 4, v), "f32": NewMatrix32(3, 4, f32),
		"colmajor": {Rows: 3, Cols: 4, ColMajor: true, F64: cm},
	} {
		if err := m.CheckFiniteRows(name, []int{0, 2}); err != nil {
			t.Errorf("%s: rows 0 and 2: %v", name, err)
		}
		if err := m.CheckFiniteRows(name, []int{2, 1}); err == nil || !strings.Contains(err.Error(), "at row 1, column 2") {
			t.Errorf("%s: rows 2 and 1: %v", name, err)
		}
	}
	m := NewMatrix64(3, 4, v)
	m.Shape = []int{3, 2, 2}
	if err := m.CheckFiniteRows("y", []int{1}); err == nil || !strings.Contains(err.Error(), "at index [1 1 0]") {
		t.Errorf("3-d: %v", err)
	}
}

// TestCheckRowsTooSmall: data whose rows kept are all tiny are refused (the other rows' values do
// not count), in every storage; rows of zeros pass.
func TestCheckRowsTooSmall(t *testing.T) {
	v := []float64{1e-150, -3e-150, 0, 2e-151, 5, 6, 0, 0, 0} // 3 x 3: row 1 of unit scale, row 2 zeros
	cm := make([]float64, 9)
	for i := range 3 {
		for j := range 3 {
			cm[i+3*j] = v[i*3+j]
		}
	}
	for name, m := range map[string]Matrix{"f64": NewMatrix64(3, 3, v), "colmajor": {Rows: 3, Cols: 3, ColMajor: true, F64: cm}} {
		if err := m.CheckValuesRows(name, []int{0, 2}, Float64); err == nil || !strings.Contains(err.Error(), "largest value is 3e-150") {
			t.Errorf("%s: rows 0 and 2: %v", name, err)
		}
		for _, rows := range [][]int{{0, 1}, {2}} {
			if err := m.CheckValuesRows(name, rows, Float64); err != nil {
				t.Errorf("%s: rows %v: %v", name, rows, err)
			}
		}
	}
	if err := NewMatrix64(3, 3, v).CheckValues("whole", Float64); err != nil {
		t.Errorf("whole matrix: %v", err)
	}
}

// An inner K too large for the training folds is named as such, with K and the rows.
func TestInnerKTooLarge(t *testing.T) {
	o, err := Defaults(50)
	if err != nil {
		t.Fatal(err)
	}
	o.Inner = Inner{Mode: KFoldInner, K: 39}
	err = o.Validate(50)
	if err == nil || !strings.Contains(err.Error(), "kfold:39") || !strings.Contains(err.Error(), "fold 0 has 40 training rows, fewer than 78") {
		t.Errorf("kfold:39 on 40 training rows: %v", err)
	}
	o.Inner.K = 20
	if err := o.Validate(50); err != nil {
		t.Errorf("kfold:20 on 40 training rows: %v", err)
	}
}

// Options set in code with values outside their enumerations are refused, not run as the
// default mode or precision.
func TestValidateRefusesUnknownEnums(t *testing.T) {
	for _, c := range []struct {
		edit func(*Options)
		want string
	}{
		{func(o *Options) { o.Inner.Mode = 7 }, "unknown mode 7"},
		{func(o *Options) { o.Inner = Inner{Mode: KFoldInner, K: 3, Score: 5} }, "unknown score 5"},
		{func(o *Options) { o.Precision = -1 }, "unknown precision -1"},
	} {
		o, err := Defaults(100)
		if err != nil {
			t.Fatal(err)
		}
		c.edit(&o)
		if err := o.Validate(100); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v, want an error saying %q", err, c.want)
		}
	}
}

// Matrices large enough to be gathered and checked on several cores (several chunks, several
// tiles, ragged edges) give what a plain element-by-element loop gives, and the value reported
// bad is the first in storage order, not the first a core happens to find.
func TestMatrixLargeGatherAndCheck(t *testing.T) {
	rows, cols := 1100, 517 // 9 chunks of the value scan: several cores scan
	rm := make([]float32, rows*cols)
	cm := make([]float64, rows*cols)
	at := func(i, j int) float64 { return float64(i*1000 + j) }
	for i := range rows {
		for j := range cols {
			rm[i*cols+j] = float32(at(i, j))
			cm[j*rows+i] = at(i, j)
		}
	}
	pick := []int{1099, 0, 7, 150, 299, 64, 65, 1}
	for _, m := range []Matrix{NewMatrix32(rows, cols, rm), {Rows: rows, Cols: cols, ColMajor: true, F64: cm}} {
		for _, c := range [][2]int{{0, cols}, {63, 200}, {516, 517}} {
			w := c[1] - c[0]
			g64, g32 := make([]float64, len(pick)*w), make([]float32, len(pick)*w)
			m.GatherCols64(pick, c[0], c[1], g64)
			m.GatherCols32(pick, c[0], c[1], g32)
			for r, i := range pick {
				for j := range w {
					if want := at(i, c[0]+j); g64[r*w+j] != want || float64(g32[r*w+j]) != want {
						t.Fatalf("colmajor %v, columns %v: row %d column %d = %v / %v, want %v", m.ColMajor, c, i, c[0]+j, g64[r*w+j], g32[r*w+j], want)
					}
				}
			}
		}
	}
	// two bad values, the later one in a chunk that a core may scan first
	rm[(rows-1)*cols+cols-1] = float32(math.Inf(1)) // in the last chunk
	rm[250*cols+10] = float32(math.NaN())           // in the second
	if err := NewMatrix32(rows, cols, rm).CheckFinite("Y.npy"); err == nil || !strings.Contains(err.Error(), "row 250, column 10") {
		t.Errorf("CheckFinite: %v, want row 250, column 10", err)
	}
	cm[(cols-1)*rows+rows-1] = math.NaN() // row 1099, column 516: first in column-major storage is column 3's
	cm[3*rows+299] = 2e150
	if err := (Matrix{Rows: rows, Cols: cols, ColMajor: true, F64: cm}).CheckFinite("Y.npy"); err == nil || !strings.Contains(err.Error(), "row 299, column 3") {
		t.Errorf("CheckFinite column-major: %v, want row 299, column 3", err)
	}
	if err := NewMatrix32(rows, cols, make([]float32, rows*cols)).CheckValues("Y.npy", Float32); err != nil {
		t.Errorf("zeros: %v", err)
	}
}

// TestPredefinedSplitMatchesScikitLearn: the test rows of each fold are those of scikit-learn
// 1.2.1's PredefinedSplit(test_fold).split() (printed by Debian's scikit-learn).
func TestPredefinedSplitMatchesScikitLearn(t *testing.T) {
	for _, c := range []struct {
		testFold []int
		want     [][]int
	}{
		{[]int{-1, 0, 0, -1, 1, 1, 0, -1, 1, 2}, [][]int{{1, 2, 6}, {4, 5, 8}, {9}}},
		{[]int{3, 3, -1, 7, 7, 3, -1, -1, 7}, [][]int{{0, 1, 5}, {3, 4, 8}}},
		{[]int{0, 0, 0, -1, -1, -1, -1}, [][]int{{0, 1, 2}}},
		// Labels in descending row order, too many for a map's iteration to come out sorted by
		// chance: fold f holds out row 19-f, whose label is f.
		{[]int{19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1},
			[][]int{{19}, {18}, {17}, {16}, {15}, {14}, {13}, {12}, {11}, {10}, {9}, {8}, {7}, {6}, {5}, {4}, {3}, {2}, {1}, {0}}},
	} {
		folds, err := PredefinedSplit(c.testFold)
		if err != nil {
			t.Fatal(err)
		}
		if len(folds) != len(c.want) {
			t.Fatalf("test fold %v: %d folds, scikit-learn %d", c.testFold, len(folds), len(c.want))
		}
		for f, want := range c.want {
			if fmt.Sprint(folds[f].Test) != fmt.Sprint(want) {
				t.Errorf("test fold %v, fold %d: test rows %v, scikit-learn %v", c.testFold, f, folds[f].Test, want)
			}
			if len(folds[f].Train)+len(folds[f].Test) != len(c.testFold) {
				t.Errorf("test fold %v, fold %d: %d training rows, want every row not held out", c.testFold, f, len(folds[f].Train))
			}
		}
		if err := ValidateFolds(folds, len(c.testFold), 1); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range [][]int{{-1, -1, -1}, {}, {0, 0, -2, 1}} {
		if _, err := PredefinedSplit(bad); err == nil {
			t.Errorf("test fold %v accepted", bad)
		}
	}
}
