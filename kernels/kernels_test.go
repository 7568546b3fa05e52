package kernels

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEntries checks, without a GPU, that every module the engine uses is embedded and defines
// the kernels it looks up, and that every .cu source has its PTX.
func TestEntries(t *testing.T) {
	entry := regexp.MustCompile(`\.entry\s+(\w+)\(`)
	for mod, names := range Entries {
		ptx, err := PTX(mod)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, m := range entry.FindAllStringSubmatch(ptx, -1) {
			have[m[1]] = true
		}
		for _, n := range names {
			if !have[n] {
				t.Errorf("module %s: no kernel %s (extern \"C\" missing?)", mod, n)
			}
		}
	}
	srcs, err := filepath.Glob("*.cu")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no .cu sources: %v", err)
	}
	for _, s := range srcs {
		mod := strings.TrimSuffix(s, ".cu")
		if _, ok := Entries[mod]; !ok {
			t.Errorf("%s: module %s is not listed in Entries", s, mod)
		}
		if _, err := os.Stat(mod + ".ptx"); err != nil {
			t.Errorf("%s: no PTX (run make kernels)", s)
		}
	}
	if _, err := PTX("nope"); err == nil {
		t.Error("PTX of an unknown module: no error")
	}
}
