package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

func idsData(name string) string { return filepath.Join("..", "..", "testdata", "ids", name) }

// Ids saved with np.save (testdata/gen_ids.py) are read as numpy gives them back, then checked as
// an ids file's lines are: surrounding spaces trimmed, an empty id refused, a repeated one
// refused (or allowed, for trials) naming both elements.
func TestReadIDsNPY(t *testing.T) {
	b, err := os.ReadFile(idsData("expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var numpy map[string][]string
	if err := json.Unmarshal(b, &numpy); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"names_U.npy", "names_S.npy", "names_be.npy", "names_col.npy", "nsd.npy", "uint16.npy", "uint64.npy", "be_i4_row.npy"} {
		var want []string
		for _, id := range numpy[name] {
			want = append(want, strings.TrimSpace(id))
		}
		if len(want) == 0 {
			t.Fatalf("%s: no ids in expected.json", name)
		}
		for what, read := range map[string]func(string) ([]string, error){"readIDs": readIDs, "readBrainIDs": readBrainIDs, "readTrialIDs": readTrialIDs} {
			got, err := read(idsData(name))
			if err != nil {
				t.Errorf("%s %s: %v", what, name, err)
			} else if !slices.Equal(got, want) {
				t.Errorf("%s %s: %q, want %q", what, name, got, want)
			}
		}
	}
	if !slices.Contains(numpy["names_U.npy"], "img_03.png  ") {
		t.Fatal("names_U.npy has no id with trailing spaces to trim")
	}

	// Labels of trials, an id each showing: a repeat is the same error as a text file's, naming
	// the elements.
	labels := filepath.Join("..", "..", "testdata", "labels", "col.npy") // [2 0 -1 1 1 0], n x 1
	_, err = readIDs(labels)
	var rep *repeatedIDError
	if !errors.As(err, &rep) || !strings.Contains(err.Error(), `id "1" at ids[4] repeats ids[3]`) {
		t.Errorf("repeated id in a .npy: %v, want a repeatedIDError naming ids[4] and ids[3]", err)
	}
	if _, err := readBrainIDs(labels); err == nil || !strings.Contains(err.Error(), "average repeated trials first with brainalign ceiling") {
		t.Errorf("repeated brain id in a .npy: %v", err)
	}
	if got, err := readTrialIDs(labels); err != nil || !slices.Equal(got, []string{"2", "0", "-1", "1", "1", "0"}) {
		t.Errorf("trial ids of a .npy: %q, %v", got, err)
	}

	for name, msg := range map[string]string{
		"blank.npy":        "ids[1] is empty",
		"linebreak.npy":    `ids[1], "b\nc", holds a line break`,
		"float64.npy":      `unsupported dtype "<f8" (float64; integer ids are saved as integers, ids.astype(np.int64)): stimulus ids are a .npy of strings or integers`,
		"object.npy":       "np.array(ids, dtype=str)",
		"matrix.npy":       "shape 2 x 3",
		"invalid_utf8.npy": "not UTF-8 text",
		"truncated.npy":    "truncated",
	} {
		if _, err := readIDs(idsData(name)); err == nil || !strings.Contains(err.Error(), msg) || !strings.HasPrefix(err.Error(), idsData(name)+": ") {
			t.Errorf("%s as ids: %v, want %q", name, err, msg)
		}
	}
}

// An encoding whose brain rows are named by a .npy of integer ids (np.save of NSD's image
// indices) scores as the same run with the ids as text: the features' ids, listed in another
// order, pair each row with its own, whichever file holds them.
func TestEncodeNPYIDs(t *testing.T) {
	dir := t.TempDir()
	const n = 60
	xp, yp := writeStudy(t, dir, n, 4, 3) // row i of X drives row i of Y
	brainIDs := make([]int64, n)
	for i := range brainIDs {
		brainIDs[i] = int64(65000 - 1009*i) // image indices, unique, below 2^16 for the uint16 copy
	}
	// The features in another order: their row r is the study's row perm[r].
	perm := make([]int, n)
	for r := range perm {
		perm[r] = (r*7 + 3) % n
	}
	x, err := array.ReadNPY(xp)
	if err != nil {
		t.Fatal(err)
	}
	d := x.Shape[1]
	shuffled := make([]float32, n*d)
	featureIDs := make([]string, n)
	featureIDs16 := make([]uint16, n)
	for r, i := range perm {
		copy(shuffled[r*d:(r+1)*d], x.F32[i*d:(i+1)*d])
		featureIDs[r] = strconv.FormatInt(brainIDs[i], 10)
		featureIDs16[r] = uint16(brainIDs[i])
	}
	x.Close()
	xs := filepath.Join(dir, "X_shuffled.npy")
	brainText := make([]string, n)
	for i, id := range brainIDs {
		brainText[i] = strconv.FormatInt(id, 10)
	}
	files := map[string]func(string) error{
		"X_shuffled.npy": func(p string) error { return array.WriteNPY(p, []int{n, d}, shuffled) },
		"x.txt":          func(p string) error { return os.WriteFile(p, []byte(strings.Join(featureIDs, "\n")+"\n"), 0o644) },
		"y.txt":          func(p string) error { return os.WriteFile(p, []byte(strings.Join(brainText, "\n")+"\n"), 0o644) },
		"y.npy":          func(p string) error { return array.WriteNPY(p, []int{n}, brainIDs) },
		"x_col.npy":      func(p string) error { return array.WriteNPY(p, []int{n, 1}, featureIDs16) },
	}
	for name, write := range files {
		if err := write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	scores := func(featuresIDs, brainIDs string) []byte {
		t.Helper()
		out := filepath.Join(dir, "out_"+featuresIDs+"_"+brainIDs)
		_, stderr, code := runCLI(t, "encode", "-x", xs, "-y", yp, "-o", out, "--alphas", "1,100",
			"--features-ids", filepath.Join(dir, featuresIDs), "--brain-ids", filepath.Join(dir, brainIDs))
		if code != 0 {
			t.Fatalf("--features-ids %s --brain-ids %s: %s", featuresIDs, brainIDs, stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "scores.npy"))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	text := scores("x.txt", "y.txt")
	if got := scores("x.txt", "y.npy"); !bytes.Equal(got, text) {
		t.Error("scores with --brain-ids y.npy differ from those with the same ids as text")
	}
	if got := scores("x_col.npy", "y.txt"); !bytes.Equal(got, text) {
		t.Error("scores with --features-ids of a uint16 n x 1 .npy differ from those with the same ids as text")
	}
	// The rows paired by id are the study's own: its planted signal is found.
	a, err := array.ReadNPY(filepath.Join(dir, "out_x.txt_y.txt", "scores.npy"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for j, r := range a.F64 {
		if r < 0.3 {
			t.Errorf("target %d scores %.3f: rows paired by id are not the study's", j, r)
		}
	}
}
