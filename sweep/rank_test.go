package sweep_test

import (
	"math"
	"slices"
	"testing"

	"github.com/brainalign/brainalign/sweep"
)

func subjects(fp string, scores ...float64) []sweep.SubjectMean {
	var s []sweep.SubjectMean
	for i, v := range scores {
		name := string(rune('a' + i))
		f := ""
		if fp != "" {
			f = fp + name
		}
		s = append(s, sweep.SubjectMean{Subject: name, Score: v, Fingerprint: f})
	}
	return s
}

// Rank: by score, NaN last, ties by name; Paired: by fingerprint, else by name; the p values of
// scipy.stats.wilcoxon (exact: 2 * P(T <= t) over the 2^n sign patterns).
func TestRankOrderAndPairs(t *testing.T) {
	models := []*sweep.Alignment{
		{Model: "nan", Score: math.NaN()},
		{Model: "b", Score: 0.2, Subjects: subjects("fp-", 0.1, 0.2, 0.3, 0.4, 0.5)},
		{Model: "a", Score: 0.2, Subjects: subjects("fp-", 0.1, 0.2, 0.3, 0.4, 0.5)},
		{Model: "top", Score: 0.5, Subjects: subjects("fp-", 0.35, 0.3, 0.45, 0.6, 0.8)},
		{Model: "named", Score: 0.1, Subjects: subjects("", 0.3, 0.1, 0.1, 0.5, 0.4)},
	}
	r := sweep.Rank(models)
	order := ""
	for _, m := range r {
		order += m.Model + " "
	}
	if order != "top a b named nan " || r[0].Rank != 1 || r[4].Rank != 5 || r[0].VsFirst != nil {
		t.Fatalf("order %q", order)
	}
	// top - a: 0.25, 0.1, 0.15, 0.2, 0.3: all positive, T = 0, p = 2/32.
	if v := r[1].VsFirst; len(v.Subjects) != 5 || math.Abs(v.MeanDiff-0.2) > 1e-12 || v.T != 0 || math.Abs(v.P-0.0625) > 1e-12 {
		t.Errorf("top vs a: %+v", v)
	}
	// top - named (paired by name): 0.05, 0.2, 0.35, 0.1, 0.4: all positive.
	if v := r[3].VsFirst; len(v.Subjects) != 5 || math.Abs(v.MeanDiff-0.22) > 1e-12 || math.Abs(v.P-0.0625) > 1e-12 {
		t.Errorf("top vs named: %+v", v)
	}
	// Holm over the three defined p values (0.0625 each): 3 x 0.0625 for all of them.
	for _, i := range []int{1, 2, 3} {
		if v := r[i].VsFirst.PHolm; !(math.Abs(v-0.1875) <= 1e-12) { // NaN fails too
			t.Errorf("%s: Holm-adjusted p %v, want 0.1875", r[i].Model, v)
		}
	}
	// No subjects in common: NaN.
	if v := r[4].VsFirst; len(v.Subjects) != 0 || !math.IsNaN(v.P) || !math.IsNaN(v.MeanDiff) || !math.IsNaN(v.PHolm) {
		t.Errorf("top vs nan: %+v", v)
	}
	// Mixed signs: differences -0.1, 0.2, -0.3, 0.4, 0.5 (ranks 1-, 2+, 3-, 4+, 5+): T = 4, and
	// the exact two-sided p (scipy.stats.wilcoxon's for n <= 50) is 2 x 7/32 = 0.4375: 7 of the 32
	// sign patterns have W+ <= 4.
	x := &sweep.Alignment{Subjects: subjects("f", 0.0, 0.4, 0.0, 0.8, 1.0)}
	y := &sweep.Alignment{Subjects: subjects("f", 0.1, 0.2, 0.3, 0.4, 0.5)}
	if v := sweep.Paired(x, y); v.T != 4 || math.Abs(v.P-0.4375) > 1e-12 {
		t.Errorf("mixed signs: %+v, want T 4, p 0.4375", v)
	}
	if v := sweep.Paired(y, y); v.T != 0 || v.P != 1 || v.MeanDiff != 0 || v.ZeroDifferences != 5 {
		t.Errorf("a model against itself: %+v, want T 0, p 1", v)
	}
	// Equal scores of one subject: dropped, p from the normal approximation (scipy.stats.wilcoxon
	// of [0.1,0.2,0.3] and [0.1,0.1,0.1]: 0.1797), counted so that rank says so.
	z1 := &sweep.Alignment{Subjects: subjects("z", 0.1, 0.2, 0.3)}
	z2 := &sweep.Alignment{Subjects: subjects("z", 0.1, 0.1, 0.1)}
	if v := sweep.Paired(z1, z2); v.ZeroDifferences != 1 || math.Abs(v.P-0.17971249487899976) > 1e-9 {
		t.Errorf("one equal pair: %+v, want 1 zero difference, p 0.1797", v)
	}
}

// A NaN score ranks last wherever it comes in the input; the reference data are the first
// model's among sets as common and as large as each other.
func TestRankNaNAndReference(t *testing.T) {
	r := sweep.Rank([]*sweep.Alignment{
		{Model: "low", Score: 0.1, Subjects: subjects("x", 0.1)},
		{Model: "nan", Score: math.NaN()},
		{Model: "high", Score: 0.3, Subjects: subjects("x", 0.3)},
	})
	if r[0].Model != "high" || r[1].Model != "low" || r[2].Model != "nan" {
		t.Errorf("order %s %s %s, want high low nan", r[0].Model, r[1].Model, r[2].Model)
	}
	// Enough models that the sort merges runs (more than 20): NaN last all the same.
	var many []*sweep.Alignment
	for i := range 40 {
		v := float64((i * 17) % 40)
		if i%3 == 0 {
			v = math.NaN()
		}
		many = append(many, &sweep.Alignment{Model: string(rune('A' + i)), Score: v})
	}
	rm := sweep.Rank(many)
	for i := 1; i < len(rm); i++ {
		if a, b := rm[i-1].Score, rm[i].Score; math.IsNaN(a) && !math.IsNaN(b) || a < b {
			t.Fatalf("rank %d (%v) before rank %d (%v)", i, a, i+1, b)
		}
	}
	one := []*sweep.Alignment{{Model: "a", Fingerprints: []string{"fa"}}, {Model: "b", Fingerprints: []string{"fb"}}}
	if i := sweep.ReferenceData(one); i != 0 {
		t.Errorf("ReferenceData of two models of other data, one subject each: %d, want 0", i)
	}
}

// A subject is missing only when neither its label nor its data's fingerprint is among the
// model's: the same subjects scored with other options are the same subjects.
func TestMissingSubjectsByLabelOrData(t *testing.T) {
	ref := &sweep.Alignment{Subjects: subjects("f", 0.1, 0.2, 0.3)}
	otherOptions := &sweep.Alignment{Subjects: subjects("g", 0.1, 0.2, 0.3)}
	if m := sweep.MissingSubjects(ref, otherOptions); m != nil {
		t.Errorf("the same labels, other fingerprints: missing %v", m)
	}
	relabelled := &sweep.Alignment{Subjects: subjects("f", 0.1, 0.2, 0.3)}
	for i := range relabelled.Subjects {
		relabelled.Subjects[i].Subject = "S" + relabelled.Subjects[i].Subject
	}
	if m := sweep.MissingSubjects(ref, relabelled); m != nil {
		t.Errorf("other labels, the same fingerprints: missing %v", m)
	}
	if m := sweep.MissingSubjects(ref, &sweep.Alignment{Subjects: subjects("g", 0.1)}); !slices.Equal(m, []string{"b", "c"}) {
		t.Errorf("one subject of other data: missing %v, want b c", m)
	}
}

// Subjects are paired by fingerprint where any is shared, and then only those: a subject whose
// data differs is not paired again by its label.
func TestPairedByFingerprintOnly(t *testing.T) {
	x := &sweep.Alignment{Subjects: subjects("f", 0.1, 0.2, 0.3)}
	y := &sweep.Alignment{Subjects: subjects("f", 0.4, 0.5, 0.6)}
	y.Subjects[1].Fingerprint, y.Subjects[2].Fingerprint = "other-b", "other-c"
	if v := sweep.Paired(x, y); !slices.Equal(v.Subjects, []string{"a"}) || math.Abs(v.MeanDiff+0.3) > 1e-12 {
		t.Errorf("one fingerprint shared: %+v, want subject a alone", v)
	}
}
