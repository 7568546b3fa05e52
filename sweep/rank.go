package sweep

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/brainalign/brainalign/stats"
)

// Ranked is one model's place in a ranking of models by alignment, with its comparison with the
// first: the subjects both were scored on, paired, and the two-sided Wilcoxon signed-rank test
// of their differences.
type Ranked struct {
	Rank int `json:"rank"` // 1 is the best
	*Alignment
	// SameData: the model was scored on the same subjects' brain data, with the same options,
	// as most models (ReferenceData: equal Fingerprints); Missing, where not, are the subjects of
	// those that it lacks, and Extra those it has that they lack.
	SameData bool     `json:"same_data_as_most"`
	Missing  []string `json:"missing_subjects,omitempty"`
	Extra    []string `json:"extra_subjects,omitempty"`
	// VsFirst compares the model with the first (nil for the first itself).
	VsFirst *PairedTest `json:"vs_first,omitempty"`
}

// PairedTest is a paired comparison across subjects of two models' scores.
type PairedTest struct {
	Subjects []string `json:"subjects"`  // the subjects paired, as the first model names them
	MeanDiff float64  `json:"mean_diff"` // mean over the pairs of (first - this model)
	T        float64  `json:"wilcoxon_t"`
	P        float64  `json:"wilcoxon_p"` // two-sided; 1 when every difference is zero; NaN without pairs
	// PHolm is P adjusted for the number of models compared with the first (Holm-Bonferroni;
	// set by Rank).
	PHolm float64 `json:"wilcoxon_p_holm"`
	// ZeroDifferences counts the pairs of equal scores: dropped by the test, whose p then comes
	// from the normal approximation (metrics.ZeroDifferencesNote).
	ZeroDifferences int `json:"zero_differences"`
}

// Rank orders models by score (the highest first; NaN last; ties by model name) and compares
// each with the first (Paired), adjusting the p values for the number of comparisons (Holm).
func Rank(models []*Alignment) []Ranked {
	order := slices.Clone(models)
	slices.SortStableFunc(order, func(a, b *Alignment) int {
		an, bn := math.IsNaN(a.Score), math.IsNaN(b.Score)
		switch {
		case an != bn:
			if an {
				return 1
			}
			return -1
		case !an && a.Score != b.Score:
			return cmp.Compare(b.Score, a.Score)
		}
		return cmp.Compare(a.Model, b.Model)
	})
	out := make([]Ranked, len(order))
	p := make([]float64, len(order))
	ref := order[ReferenceData(order)]
	for i, a := range order {
		out[i] = Ranked{Rank: i + 1, Alignment: a, SameData: slices.Equal(a.Fingerprints, ref.Fingerprints)}
		if !out[i].SameData {
			out[i].Missing = MissingSubjects(ref, a)
			out[i].Extra = MissingSubjects(a, ref)
		}
		p[i] = math.NaN()
		if i > 0 {
			out[i].VsFirst = Paired(order[0], a)
			p[i] = out[i].VsFirst.P
		}
	}
	for i, v := range stats.Holm(p) {
		if out[i].VsFirst != nil {
			out[i].VsFirst.PHolm = v
		}
	}
	return out
}

// ReferenceData returns the index of the first model scored on the data most models were scored
// on (the most common set of sweep fingerprints: the same subjects' brain data and options), the
// reference that models scored otherwise (a subject missing, other options) are marked against.
// The first model would make every complete model look different when it is the one missing a
// subject. Between sets as common as each other (two models, one scored on a subject more), the
// one of the most subjects is the reference, so that the model lacking a subject is marked, not
// the model holding one more.
func ReferenceData(models []*Alignment) int {
	count := map[string]int{}
	for _, a := range models {
		count[strings.Join(a.Fingerprints, "\x00")]++
	}
	best := 0
	for i, a := range models {
		n, nBest := count[strings.Join(a.Fingerprints, "\x00")], count[strings.Join(models[best].Fingerprints, "\x00")]
		if n > nBest || n == nBest && len(a.Fingerprints) > len(models[best].Fingerprints) {
			best = i
		}
	}
	return best
}

// MissingSubjects names the subjects of ref that a has no sweep of (by subject label, or where
// a sweep has none by its data's fingerprint); none where a differs in its data or options only.
func MissingSubjects(ref, a *Alignment) []string {
	var out []string
	for _, s := range ref.Subjects {
		if !slices.ContainsFunc(a.Subjects, func(t SubjectMean) bool {
			return t.Subject == s.Subject || t.Fingerprint != "" && t.Fingerprint == s.Fingerprint
		}) {
			out = append(out, s.Subject)
		}
	}
	return out
}

// Paired compares model b with model a across the subjects both were scored on: the mean of
// a - b and the two-sided Wilcoxon signed-rank test, exact for small samples (stats.Wilcoxon).
// Subjects are paired by the fingerprint of their brain data and options (the same subject
// scored the same way); when no fingerprint is shared (sweeps with other options, or without
// fingerprints), by subject name.
func Paired(a, b *Alignment) *PairedTest {
	t := &PairedTest{Subjects: []string{}, MeanDiff: math.NaN(), T: math.NaN(), P: math.NaN(), PHolm: math.NaN()}
	var x, y []float64
	for _, key := range []func(SubjectMean) string{
		func(s SubjectMean) string { return s.Fingerprint },
		func(s SubjectMean) string { return s.Subject },
	} {
		byKey := map[string]float64{}
		for _, s := range b.Subjects {
			if k := key(s); k != "" {
				byKey[k] = s.Score
			}
		}
		for _, s := range a.Subjects {
			if v, ok := byKey[key(s)]; ok {
				t.Subjects = append(t.Subjects, s.Subject)
				x, y = append(x, s.Score), append(y, v)
			}
		}
		if len(x) > 0 {
			break
		}
	}
	if len(x) == 0 {
		return t
	}
	t.MeanDiff = 0
	for i := range x {
		t.MeanDiff += (x[i] - y[i]) / float64(len(x))
		if x[i] == y[i] {
			t.ZeroDifferences++
		}
	}
	if t.ZeroDifferences == len(x) { // no difference at all (SciPy raises; compare reports it so)
		t.T, t.P = 0, 1
		return t
	}
	if st, p, err := stats.Wilcoxon(x, y); err == nil {
		t.T, t.P = st, p
	}
	return t
}
