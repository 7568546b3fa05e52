package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
)

// fifIDs are the ids testdata/gen_fif.py recorded from MNE's reading of its epochs files: each
// epoch's event name (epochs.event_id inverted over epochs.events) and metadata values.
type fifIDs struct {
	Names    []string             `json:"names"`
	Metadata map[string][]*string `json:"metadata"`
}

func loadFIFIDs(t *testing.T) map[string]fifIDs {
	t.Helper()
	var exp struct {
		IDs map[string]fifIDs `json:"ids"`
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fif", "expected.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &exp))
	if len(exp.IDs) == 0 {
		t.Fatal("expected.json: no ids")
	}
	return exp.IDs
}

func fifPath(name string) string { return filepath.Join("..", "..", "testdata", "fif", name) }

func column(t *testing.T, ids fifIDs, col string) []string {
	t.Helper()
	var out []string
	for _, v := range ids.Metadata[col] {
		if v == nil {
			t.Fatalf("column %s has a missing value", col)
		}
		out = append(out, *v)
	}
	if len(out) == 0 {
		t.Fatalf("no column %s", col)
	}
	return out
}

func writeLines(t *testing.T, path string, lines []string) string {
	t.Helper()
	must(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	return path
}

func sameFiles(t *testing.T, a, b string, names ...string) {
	t.Helper()
	for _, n := range names {
		x, err := os.ReadFile(filepath.Join(a, n))
		must(t, err)
		y, err := os.ReadFile(filepath.Join(b, n))
		must(t, err)
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between %s and %s", n, a, b)
		}
	}
}

// ceiling --ids of an epochs file takes each epoch's event name, or with FILE:COLUMN a metadata
// column, as MNE reads them: the same results as an ids file of MNE's values, over a series of
// three parts with dropped epochs, as THINGS-MEG's preprocessed files are (image_path, repeats).
func TestCeilingIDsFromEpochs(t *testing.T) {
	exp := loadFIFIDs(t)
	dir := t.TempDir()
	for _, c := range []struct {
		file, col string
		want      []string
	}{
		{"things-epo.fif", "image_path", column(t, exp["things-epo.fif"], "image_path")},
		{"things-epo.fif", "", exp["things-epo.fif"].Names},
		{"events-epo.fif", "", exp["events-epo.fif"].Names},
	} {
		spec := fifPath(c.file)
		if c.col != "" {
			spec += ":" + c.col
		}
		name := strings.TrimSuffix(c.file, "-epo.fif") + "-" + c.col
		fromFIF, fromText := filepath.Join(dir, name+"-fif"), filepath.Join(dir, name+"-txt")
		mustRun(t, "ceiling", "--brain", fifPath(c.file), "--ids", spec, "--out", fromFIF)
		ids := writeLines(t, filepath.Join(dir, name+".txt"), c.want)
		mustRun(t, "ceiling", "--brain", fifPath(c.file), "--ids", ids, "--out", fromText)
		sameFiles(t, fromFIF, fromText, "ceiling.npy", "ncsnr.npy", "averaged.npy", "averaged_ids.txt")
		var first []string // the stimuli in order of first appearance
		for _, id := range c.want {
			if !slices.Contains(first, id) {
				first = append(first, id)
			}
		}
		got, err := os.ReadFile(filepath.Join(fromFIF, "averaged_ids.txt"))
		must(t, err)
		if string(got) != strings.Join(first, "\n")+"\n" {
			t.Errorf("%s: averaged_ids.txt %q, want %q", spec, got, first)
		}
		var rec struct {
			IDs string `json:"ids"`
		}
		b, err := os.ReadFile(filepath.Join(fromFIF, "ceiling.json"))
		must(t, err)
		must(t, json.Unmarshal(b, &rec))
		if rec.IDs != spec {
			t.Errorf("ceiling.json ids %q, want %q", rec.IDs, spec)
		}
	}
}

// encode --brain-ids x-epo.fif:COLUMN matches rows by the metadata's values: the epochs dropped
// before saving (img_02.jpg, img_05.jpg) are not in the brain data, and are reported as features
// only; the scores are those of an ids file of MNE's values.
func TestEncodeBrainIDsFromEpochs(t *testing.T) {
	exp := loadFIFIDs(t)
	dir := t.TempDir()
	brain := fifPath("events-epo.fif")
	var fids []string
	for i := 7; i >= 0; i-- {
		fids = append(fids, "img_0"+string(rune('0'+i))+".jpg")
	}
	r := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, len(fids)*3)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	features := filepath.Join(dir, "x.npy")
	must(t, array.WriteNPY(features, []int{len(fids), 3}, x))
	featureIDs := writeLines(t, filepath.Join(dir, "x.txt"), fids)
	brainIDs := writeLines(t, filepath.Join(dir, "brain.txt"), column(t, exp["events-epo.fif"], "image"))
	args := []string{"encode", "--features", features, "--features-ids", featureIDs, "--brain", brain, "--folds", "2", "--alphas", "1,10"}
	_, stderr, code := runCLI(t, append(args, "--brain-ids", brain+":image", "--out", filepath.Join(dir, "fif"))...)
	if code != 0 {
		t.Fatalf("encode --brain-ids %s:image: exit %d: %s", brain, code, stderr)
	}
	if !strings.Contains(stderr, "2 stimulus ids only in the features were left out: img_05.jpg, img_02.jpg") {
		t.Errorf("dropped epochs not reported as features only: %s", stderr)
	}
	mustRun(t, append(args, "--brain-ids", brainIDs, "--out", filepath.Join(dir, "txt"))...)
	sameFiles(t, filepath.Join(dir, "fif"), filepath.Join(dir, "txt"), "scores.npy", "fold_scores.npy", "alphas.npy")
}

// Ids an epochs file cannot give are refused with one line naming the file.
func TestEpochsIDsErrors(t *testing.T) {
	dir := t.TempDir()
	x := filepath.Join(dir, "x.npy")
	must(t, array.WriteNPY(x, []int{6, 2}, make([]float32, 12)))
	xids := writeLines(t, filepath.Join(dir, "x.txt"), []string{"a", "b", "c", "d", "e", "f"})
	brain := fifPath("events-epo.fif")
	encode := func(ids string) []string {
		return []string{"encode", "--features", x, "--features-ids", xids, "--brain", brain, "--brain-ids", ids, "--out", filepath.Join(dir, "out")}
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{encode(brain + ":trial type"), []string{brain + ":trial type: epochs[1] and epochs[2] are both \"test\"", "brainalign ceiling --brain " + brain + " --ids " + brain + ":trial type"}},
		{encode(brain + ":image_nr"), []string{brain + ": no column image_nr in the metadata (columns: image, things_image_nr, score, with_nan, flag, trial type)"}},
		{encode(brain + ":with_nan"), []string{brain + ": metadata column with_nan has no value (NaN or None) for 1 of 6 epochs (the first: epochs[2])"}},
		{encode(brain + ":"), []string{brain + ":: name a column"}},
		{[]string{"encode", "--features", x, "--features-ids", xids, "--brain", fifPath("mixed-epo.fif"), "--brain-ids", fifPath("mixed-epo.fif") + ":image", "--out", filepath.Join(dir, "out")},
			[]string{fifPath("mixed-epo.fif") + ": no metadata"}},
		{encode(fifPath("mixed-epo.fif") + ":image"), []string{"--brain-ids " + fifPath("mixed-epo.fif") + ":image: its epochs are not those of " + brain}},
		{encode(fifPath("noevents-epo.fif")), []string{fifPath("noevents-epo.fif") + ": no events stored with the epochs"}},
		{encode(fifPath("continuous_raw.fif")), []string{fifPath("continuous_raw.fif") + ": raw (continuous) data, not epochs"}},
		{encode(fifPath("average-ave.fif")), []string{fifPath("average-ave.fif") + ": evoked (averaged) data, not epochs"}},
		{[]string{"ceiling", "--brain", brain, "--ids", fifPath("things-epo.fif"), "--out", filepath.Join(dir, "ceil")},
			[]string{"--ids " + fifPath("things-epo.fif") + ": its epochs are not those of " + brain + " (14 epochs, 6)"}},
	} {
		_, stderr, code := runCLI(t, c.args...)
		msg := strings.TrimSpace(stderr)
		for _, w := range c.want {
			if code != 1 || !strings.Contains(msg, w) || strings.Contains(msg, "\n") {
				t.Errorf("%s: exit %d, %q; want one line with %q", strings.Join(c.args, " "), code, msg, w)
			}
		}
	}
}

// ceiling --sessions x-epo.fif:session_nr z-scores within THINGS-MEG's sessions as a
// sessions.npy of MNE's values does; labels that are not integers (trial_type) are numbered in
// sorted order, as numpy's unique numbers them.
func TestSessionsFromEpochs(t *testing.T) {
	exp := loadFIFIDs(t)
	dir := t.TempDir()
	brain, ids := fifPath("things-epo.fif"), fifPath("things-epo.fif")+":image_path"
	for _, c := range []struct {
		col  string
		want func([]string) []int64
	}{
		{"session_nr", func(v []string) []int64 {
			out := make([]int64, len(v))
			for i, s := range v {
				out[i] = int64(s[0] - '0')
			}
			return out
		}},
		{"trial_type", func(v []string) []int64 {
			u := slices.Compact(slices.Sorted(slices.Values(v)))
			out := make([]int64, len(v))
			for i, s := range v {
				out[i] = int64(slices.Index(u, s))
			}
			return out
		}},
	} {
		labels := column(t, exp["things-epo.fif"], c.col)
		npy := filepath.Join(dir, c.col+".npy")
		must(t, array.WriteNPY(npy, []int{len(labels)}, c.want(labels)))
		fromFIF, fromNPY := filepath.Join(dir, c.col+"-fif"), filepath.Join(dir, c.col+"-npy")
		mustRun(t, "ceiling", "--brain", brain, "--ids", ids, "--sessions", brain+":"+c.col, "--out", fromFIF)
		mustRun(t, "ceiling", "--brain", brain, "--ids", ids, "--sessions", npy, "--out", fromNPY)
		sameFiles(t, fromFIF, fromNPY, "ceiling.npy", "ncsnr.npy", "averaged.npy", "averaged_ids.txt")
	}
	if _, stderr, code := runCLI(t, "ceiling", "--brain", brain, "--ids", ids, "--sessions", brain, "--out", filepath.Join(dir, "x")); code != 1 ||
		!strings.Contains(stderr, "name a column of the epochs' metadata for the group labels") {
		t.Errorf("--sessions of an epochs file without a column: exit %d, %s", code, stderr)
	}
}

// Ids or sessions from another epochs file than --brain (another participant's, of as many
// epochs) are refused: the rows would be named after other trials.
func TestEpochsSourceOfOtherEpochs(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(fifPath("events-epo.fif")) // 6 epochs, codes 1 2 5 2 5 2
	must(t, err)
	// a copy whose last epoch shows event 5 rather than 2: found by its event list, rows of
	// (sample, previous, code) as big-endian int32
	codes := []uint32{1, 2, 5, 2, 5, 2}
	at := -1
	for p := 0; p+12*len(codes) <= len(src); p++ {
		ok := true
		for i, c := range codes {
			if binary.BigEndian.Uint32(src[p+12*i+8:]) != c {
				ok = false
				break
			}
		}
		if ok {
			at = p
			break
		}
	}
	if at < 0 {
		t.Fatal("no event list found in events-epo.fif")
	}
	other := slices.Clone(src)
	binary.BigEndian.PutUint32(other[at+12*5+8:], 5)
	otherPath := filepath.Join(dir, "other-epo.fif")
	must(t, os.WriteFile(otherPath, other, 0o644))
	brain := fifPath("events-epo.fif")
	_, stderr, code := runCLI(t, "ceiling", "--brain", brain, "--ids", otherPath, "--out", filepath.Join(dir, "c"))
	if code != 1 || !strings.Contains(stderr, "--ids "+otherPath+": its epochs are not those of "+brain+" (epochs[5] is event 5 at sample") {
		t.Errorf("ids of other epochs: exit %d, %s", code, stderr)
	}
	_, stderr, code = runCLI(t, "ceiling", "--brain", brain, "--ids", brain, "--sessions", fifPath("things-epo.fif")+":session_nr", "--out", filepath.Join(dir, "c2"))
	if code != 1 || !strings.Contains(stderr, "its epochs are not those of "+brain+" (14 epochs, 6)") {
		t.Errorf("sessions of other epochs: exit %d, %s", code, stderr)
	}
	// the same epochs saved without names are the same epochs
	_, stderr, code = runCLI(t, "ceiling", "--brain", brain, "--ids", fifPath("nonames-epo.fif"), "--out", filepath.Join(dir, "c3"))
	if strings.Contains(stderr, "not those of") {
		t.Errorf("the same epochs in another file: exit %d, %s", code, stderr)
	}
}

// TestGroupsFromEpochsMatchScikitLearn: --groups FILE:COLUMN gives the folds of scikit-learn's
// GroupKFold on the column as MNE reads it. Groups of equal size go to the folds in numpy's order
// of their labels: strings in text order ("10" before "2", also when they hold digits), numbers by
// value (10.5 after 2.5).
func TestGroupsFromEpochsMatchScikitLearn(t *testing.T) {
	var exp struct {
		GroupFolds map[string]struct {
			K     int     `json:"k"`
			Tests [][]int `json:"tests"`
		} `json:"group_folds"`
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "fif", "expected.json"))
	must(t, err)
	must(t, json.Unmarshal(b, &exp))
	if len(exp.GroupFolds) == 0 {
		t.Fatal("expected.json: no group_folds")
	}
	for spec, want := range exp.GroupFolds {
		file, col, _ := strings.Cut(spec, ":")
		groups, err := readGroups(fifPath(file)+":"+col, 30)
		must(t, err)
		folds, err := engine.GroupKFold(groups, want.K)
		must(t, err)
		for f, fold := range folds {
			if !slices.Equal(fold.Test, want.Tests[f]) {
				t.Errorf("%s: fold %d holds out rows %v, scikit-learn's GroupKFold %v", spec, f, fold.Test, want.Tests[f])
			}
		}
	}
}
