package sweep

import (
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestNaturalLess(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"blocks.2.mlp.fc2", "blocks.10.mlp.fc2"}, // the last number (2) ties; the block decides
		{"blocks.9.norm1", "blocks.10.norm1"},
		{"blocks.1.norm2", "blocks.2.norm1"},
		{"layer2", "layer10"},
		{"layer02", "layer03"},
		{"layer02", "layer2"}, // equal but for a leading zero: as strings
		{"layer9", "layer010"},
		{"encoder.layer.2.output", "encoder.layer.11.output"},
		{"model.layers.3.post_attention_layernorm", "model.layers.10.post_attention_layernorm"},
		{"features.1", "features.1.relu"}, // a prefix first
		{"a1b2", "a1b10"},
		{"a1b10", "a2b1"},
		{"conv1", "layer1"},
		{"layer4", "avgpool"}, // names with a number before those without
		{"avgpool", "fc"},
		{"x99999999999999999999998", "x99999999999999999999999"}, // beyond int64 and float64
		{"x9", "x100000000000000000000000000"},
	} {
		if !naturalLess(c.a, c.b) || naturalLess(c.b, c.a) {
			t.Errorf("naturalLess(%q, %q) = %v, reversed %v; want %q first",
				c.a, c.b, naturalLess(c.a, c.b), naturalLess(c.b, c.a), c.a)
		}
	}
	if naturalLess("blocks.3", "blocks.3") {
		t.Error("a name is less than itself")
	}
}

// naturalLess is a strict total order (sort needs a strict weak order; distinct names must
// never tie, or their order would depend on the input order).
func TestNaturalLessIsTotalOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	parts := []string{"0", "00", "1", "01", "2", "10", "011", "a", "b", ".", "_", "-", "ab", "Z", "~"}
	var names []string
	seen := map[string]bool{}
	for len(names) < 300 {
		var b strings.Builder
		for k := rng.IntN(5); k >= 0; k-- {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		if s := b.String(); !seen[s] {
			seen[s] = true
			names = append(names, s)
		}
	}
	for _, a := range names {
		for _, b := range names {
			if a != b && naturalLess(a, b) == naturalLess(b, a) {
				t.Fatalf("%q and %q: naturalLess %v both ways", a, b, naturalLess(a, b))
			}
		}
	}
	for i := 0; i < 20000; i++ {
		a, b, c := names[rng.IntN(len(names))], names[rng.IntN(len(names))], names[rng.IntN(len(names))]
		if naturalLess(a, b) && naturalLess(b, c) && !naturalLess(a, c) {
			t.Fatalf("not transitive: %q < %q < %q but not %[1]q < %[3]q", a, b, c)
		}
	}
	// Any input order sorts the same.
	want := slices.Clone(names)
	sort.Slice(want, func(i, j int) bool { return naturalLess(want[i], want[j]) })
	for k := 0; k < 5; k++ {
		got := slices.Clone(names)
		rng.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
		sort.SliceStable(got, func(i, j int) bool { return naturalLess(got[i], got[j]) })
		if !slices.Equal(got, want) {
			t.Fatalf("shuffle %d sorts differently", k)
		}
	}
}

// Checkpoint steps: the number after "step" (or "iter"), else the last number in a name.
func TestNameNumber(t *testing.T) {
	for name, want := range map[string]float64{"ckpt-0100000": 100000, "step_5000": 5000, "epoch3-step500": 500,
		"step1000_seed0": 1000, "global_step20000-seed3": 20000, "iter_300_lr0.1": 300, "checkpoint-1000": 1000, "run2_ckpt7": 7,
		"vit16_ep100": 100, "split2_epoch30": 30, "unit3_epoch10": 10, "init0_ckpt500": 500, "it_20": 20, "Step-7": 7,
		"ckptStep500_seed1": 500, "trainIter2000_run3": 2000, "globalstep1000_seed2": 1000} {
		if v, ok := nameNumber(name); !ok || v != want {
			t.Errorf("nameNumber(%q) = %v, %v; want %v", name, v, ok, want)
		}
	}
	if _, ok := nameNumber("final"); ok {
		t.Error(`"final" has a step`)
	}
}

// A ceiling volume (x, y, z) over all voxels is taken at a mask's voxels, as flat targets, also
// when the mask keeps every voxel.
func TestRestrictCeilingVolume(t *testing.T) {
	for _, keep := range []int{7, 8} {
		m := Meta{Ceiling: make([]float64, 8), ceilingShape: []int{2, 2, 2}}
		cols := make([]int, keep)
		for i := range cols {
			cols[i] = i
		}
		m.Restrict(cols, 8)
		if err := m.Check("brain", []int{keep}); err != nil {
			t.Errorf("mask keeping %d of 8 voxels: %v", keep, err)
		}
	}
}
