package sweep_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/sweep"
)

// ROI names from a FreeSurfer color table (FreeSurferColorLUT.txt, an atlas's .ctab: "LABEL
// NAME R G B A") are the names alone; 'LABEL NAME' lines whose names end in numbers, or a table
// of which one row has no colours, keep their text as given.
func TestROINamesColorTable(t *testing.T) {
	dir := t.TempDir()
	roi := filepath.Join(dir, "roi.npy")
	if err := array.WriteNPY(roi, []int{4}, []int64{0, 1, 2, 2}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, text string
		want       [3]string
	}{
		{"lut", "#$Id: FreeSurferColorLUT.txt $\n\n#No. Label Name:                            R   G   B   A\n\n" +
			"0   Unknown                                 0   0   0   0\n" +
			"1   Left-Cerebral-Exterior                  70  130 180 0\n" +
			"2   Left-Cerebral-White-Matter              245 245 245 0\n",
			[3]string{"Unknown", "Left-Cerebral-Exterior", "Left-Cerebral-White-Matter"}},
		{"ctab", "  0  unknown                           25   5  25    0\n  1  bankssts                          25 100  40    0\n  2  lateral occipital                 20  30 140    0\n",
			[3]string{"unknown", "bankssts", "lateral occipital"}},
		{"pairs", "0 Unknown\n1 V1v\n2 V1d\n", [3]string{"Unknown", "V1v", "V1d"}},
		{"numbered names", "0 area 1\n1 area 2 3 4 5\n2 area 3\n", [3]string{"area 1", "area 2 3 4 5", "area 3"}},
		{"one row without colours", "0 a 0 0 0 0\n1 b 1 2 3 4\n2 c\n", [3]string{"a 0 0 0 0", "b 1 2 3 4", "c"}},
	} {
		names := filepath.Join(dir, "names.txt")
		if err := os.WriteFile(names, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := sweep.ReadMeta("", roi, names, "")
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for k, want := range c.want {
			if got := m.ROIName(k); got != want {
				t.Errorf("%s: label %d named %q, want %q", c.name, k, got, want)
			}
		}
	}
}
