package metrics

import (
	"bufio"
	"reflect"
	"strings"
	"testing"
)

func TestReadScalingTable(t *testing.T) {
	// A byte-order mark, comments, CRLF line ends, spaces after commas and in the header, quoted
	// cells, groups in order of first appearance.
	in := "\ufeff# models\r\nname, fam ,flops,score\r\n\"a,1\",vit,1e18,0.3\r\n# skipped\r\nb,cnn,2e17, 0.2\r\nc,vit,4e19,0.35\r\n"
	g, err := ReadScalingTable(strings.NewReader(in), "m.csv", ScalingColumns{X: "flops", Y: "score", Group: "fam"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ScalingGroup{
		{Name: "vit", X: []float64{1e18, 4e19}, Y: []float64{0.3, 0.35}, Lines: []int{3, 6}},
		{Name: "cnn", X: []float64{2e17}, Y: []float64{0.2}, Lines: []int{5}},
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("got %+v\nwant %+v", g, want)
	}
	g, err = ReadScalingTable(strings.NewReader("# a, b\nflops\tscore\n1\t2\n3\t4\n"), "m.tsv", ScalingColumns{X: "flops", Y: "score"})
	if err != nil || len(g) != 1 || g[0].Name != "all" || !reflect.DeepEqual(g[0].Y, []float64{2, 4}) {
		t.Errorf("tab-separated after a comment with commas: %+v, %v", g, err)
	}
	_, err = ReadScalingTable(strings.NewReader("x,y\n1,\"2\n"), "q.csv", ScalingColumns{X: "x", Y: "y"})
	if err == nil || !strings.Contains(err.Error(), "q.csv: line 2") {
		t.Errorf("unterminated quote: %v", err)
	}
	_, err = ReadScalingTable(strings.NewReader("x,y,g\n1,2,\n"), "g.csv", ScalingColumns{X: "x", Y: "y", Group: "g"})
	if err == nil || !strings.Contains(err.Error(), "g.csv line 2: g is empty") {
		t.Errorf("empty group: %v", err)
	}
}

func TestReadScalingTableModels(t *testing.T) {
	// Without a y column: the scores come from the models' sweeps, matched by name.
	in := "model,family,compute\nvit-s,vit,1e18\nvit-b,vit,4e18\ncnn-s,cnn,2e17\n"
	g, err := ReadScalingTable(strings.NewReader(in), "m.csv", ScalingColumns{X: "compute", Group: "family", Model: "model"})
	if err != nil {
		t.Fatal(err)
	}
	want := []ScalingGroup{
		{Name: "vit", X: []float64{1e18, 4e18}, Lines: []int{2, 3}, Models: []string{"vit-s", "vit-b"}},
		{Name: "cnn", X: []float64{2e17}, Lines: []int{4}, Models: []string{"cnn-s"}},
	}
	if !reflect.DeepEqual(g, want) {
		t.Errorf("got %+v\nwant %+v", g, want)
	}
	for in, want := range map[string]string{
		"model,compute\na,1\nb,2\na,3\n": "m.csv line 4: model a is also on line 2 (one row per model)",
		"model,compute\n ,1\n":           "m.csv line 2: model is empty",
		"name,compute\na,1\n":            `m.csv: no column "model" for the model names (columns: name, compute)`,
	} {
		_, err := ReadScalingTable(strings.NewReader(in), "m.csv", ScalingColumns{X: "compute", Model: "model"})
		if err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
	// Without a model column, y is required.
	if _, err := ReadScalingTable(strings.NewReader("compute\n1\n"), "m.csv", ScalingColumns{X: "compute"}); err == nil {
		t.Error("no y and no model column: no error")
	}
}

// TestReadScalingTableTabHeaderAfterComments: the header is looked for in the first 64 KiB, as
// tabSeparated's doc says: a tab-separated header after 58 KiB of comment lines is found. It
// was not while the reader's buffer was bufio's default 4 KiB, which is all Peek returns.
func TestReadScalingTableTabHeaderAfterComments(t *testing.T) {
	in := strings.Repeat("# a comment, with a comma, to fill the first 4 KiB and more\n", 1000) + "flops\tscore\n1\t2\n3\t4\n"
	if n := strings.Index(in, "flops"); n < 56<<10 || n+len("flops\tscore\n") > 64<<10 {
		t.Fatalf("the header starts at byte %d, want it whole between 56 and 64 KiB", n)
	}
	g, err := ReadScalingTable(strings.NewReader(in), "m.tsv", ScalingColumns{X: "flops", Y: "score"})
	if err != nil || len(g) != 1 || !reflect.DeepEqual(g[0].X, []float64{1, 3}) || !reflect.DeepEqual(g[0].Y, []float64{2, 4}) {
		t.Errorf("tab-separated header after 58 KiB of comments: %+v, %v", g, err)
	}
}

// TestReadScalingTableCells: y and the group in the first column; a quoted cell after a space; a
// row whose first cell is quoted across a line break is on the line where it starts; NaN, Inf
// and x <= 0 refused with their line; a header without rows refused.
func TestReadScalingTableCells(t *testing.T) {
	g, err := ReadScalingTable(strings.NewReader("score,flops\n0.3,1e18\n"), "m.csv", ScalingColumns{X: "flops", Y: "score"})
	if err != nil || len(g) != 1 || !reflect.DeepEqual(g[0].Y, []float64{0.3}) {
		t.Errorf("y in the first column: %+v, %v", g, err)
	}
	g, err = ReadScalingTable(strings.NewReader("fam,flops,score\nvit,1,2\ncnn,3,4\n"), "m.csv", ScalingColumns{X: "flops", Y: "score", Group: "fam"})
	if err != nil || len(g) != 2 || g[0].Name != "vit" || g[1].Name != "cnn" {
		t.Errorf("group in the first column: %+v, %v", g, err)
	}
	g, err = ReadScalingTable(strings.NewReader("x,y,model\n1, 2, \"m,1\"\n"), "m.csv", ScalingColumns{X: "x", Y: "y", Model: "model"})
	if err != nil || len(g) != 1 || !reflect.DeepEqual(g[0].Models, []string{"m,1"}) {
		t.Errorf("quoted cell after a space: %+v, %v", g, err)
	}
	g, err = ReadScalingTable(strings.NewReader("x,y\n\"1\n\",2\n3,4\n"), "m.csv", ScalingColumns{X: "x", Y: "y"})
	if err != nil || len(g) != 1 || !reflect.DeepEqual(g[0].X, []float64{1, 3}) || !reflect.DeepEqual(g[0].Lines, []int{2, 4}) {
		t.Errorf("a cell across a line break: %+v, %v; want lines 2 and 4", g, err)
	}
	for in, want := range map[string]string{
		"x,y\n1,2\n1,nan\n": "m.csv line 3: y is nan",
		"x,y\n1,+Inf\n":     "m.csv line 2: y is +Inf",
		"x,y\n-inf,1\n":     "m.csv line 2: x is -inf",
		"x,y\n0,1\n":        "m.csv line 2: x = 0; must be positive",
		"x,y\n-0.5,1\n":     "m.csv line 2: x = -0.5; must be positive",
		"x,y\n":             "m.csv: no rows after the header",
	} {
		_, err := ReadScalingTable(strings.NewReader(in), "m.csv", ScalingColumns{X: "x", Y: "y"})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// TestReadScalingTableHeaderWindow: a tab-separated header that ends just inside the first 64
// KiB is found; one that starts after them is not looked at, and the table is read as
// comma-separated (its one column is not x).
func TestReadScalingTableHeaderWindow(t *testing.T) {
	const header = "flops\tscore\n"
	pad := func(headerEnd int) string { // comment lines ending where the header is to start
		n := headerEnd - len(header)
		return strings.Repeat("#"+strings.Repeat(",", 98)+"\n", n/100) + "#" + strings.Repeat(" ", n%100-2) + "\n"
	}
	in := pad(64<<10-1) + header + "1\t2\n3\t4\n"
	if n := strings.Index(in, header) + len(header); n != 64<<10-1 {
		t.Fatalf("the header ends at byte %d, want %d", n, 64<<10-1)
	}
	if g, err := ReadScalingTable(strings.NewReader(in), "m.tsv", ScalingColumns{X: "flops", Y: "score"}); err != nil || len(g) != 1 || len(g[0].X) != 2 {
		t.Errorf("header ending just inside 64 KiB: %+v, %v", g, err)
	}
	in = pad(64<<10+len(header)+1) + header + "1\t2\n"
	_, err := ReadScalingTable(strings.NewReader(in), "m.tsv", ScalingColumns{X: "flops", Y: "score"})
	if err == nil || !strings.Contains(err.Error(), `no column "flops" for x (columns: flops	score)`) {
		t.Errorf("header after 64 KiB: %v, want it read as one comma-separated column", err)
	}
}

// TestTabSeparated: the header is the first line neither blank nor a comment (blank lines and a
// header of one name and a tab included), and has tabs and no commas.
func TestTabSeparated(t *testing.T) {
	for in, want := range map[string]bool{
		"\n  \n# a, b\nflops\tscore\n1\t2\n": true,
		"x\t\n1,2\n":                         true,
		"x,y\t\n1\t2\n":                      false,
		"x,y\n1\t2\n":                        false,
		"# only\n\n":                         false,
	} {
		if got := tabSeparated(bufio.NewReader(strings.NewReader(in))); got != want {
			t.Errorf("%q: tab-separated %v, want %v", in, got, want)
		}
	}
	// A comma header whose last name has a tab after it is read as comma-separated.
	g, err := ReadScalingTable(strings.NewReader("x,y\t\n1,2\n"), "m.csv", ScalingColumns{X: "x", Y: "y"})
	if err != nil || len(g) != 1 || g[0].Y[0] != 2 {
		t.Errorf("comma header with a tab: %+v, %v", g, err)
	}
}

// TestReadScalingTableCSVErrors: encoding/csv's errors are given with the file and line; a row
// of another number of cells than the header is said in words.
func TestReadScalingTableCSVErrors(t *testing.T) {
	for in, want := range map[string]string{
		"x,y\n1,2,3\n":  "m.csv: line 2: a different number of cells than the header has",
		"x,y\n1,\"2\n":  "m.csv: line 2: extraneous or missing \" in quoted-field",
		"x,y\n1,2 \"\n": "m.csv: line 2: bare \" in non-quoted-field",
	} {
		_, err := ReadScalingTable(strings.NewReader(in), "m.csv", ScalingColumns{X: "x", Y: "y"})
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}
