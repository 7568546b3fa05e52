package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A module with a planted fault for each kind of finding, each in files that only some
// platforms build: crossvet must find each on those platforms and nothing on the others.
var plantedModule = map[string]string{
	"go.mod": "module planted\n\ngo 1.24\n",
	// A type error in a file built only for Windows.
	"typeerr/a.go":         "package typeerr\n\nfunc Answer() int { return answer() }\n",
	"typeerr/a_windows.go": "package typeerr\n\nfunc answer() int { return \"42\" }\n",
	"typeerr/a_other.go":   "//go:build !windows\n\npackage typeerr\n\nfunc answer() int { return 42 }\n",
	// A function declared for amd64 and 386 with its body in amd64 assembly only: the 386 build
	// has no body for it.
	"asm/decl.go":     "//go:build amd64 || 386\n\npackage asm\n\nfunc Add(a, b int) int\n",
	"asm/asm_amd64.s": "#include \"textflag.h\"\n\nTEXT ·Add(SB),NOSPLIT,$0-24\n\tMOVQ a+0(FP), AX\n\tADDQ b+8(FP), AX\n\tMOVQ AX, ret+16(FP)\n\tRET\n",
	"asm/generic.go":  "//go:build !amd64 && !386\n\npackage asm\n\nfunc Add(a, b int) int { return a + b }\n",
	// A misused format in a Darwin-only test file: go vet's printf analyzer.
	"vetfail/v.go":             "package vetfail\n",
	"vetfail/v_darwin_test.go": "package vetfail\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n)\n\nfunc TestV(t *testing.T) { fmt.Printf(\"%d\\n\", \"x\") }\n",
}

func writePlanted(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range plantedModule {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPlantedFaults(t *testing.T) {
	dir := writePlanted(t)
	for _, tc := range []struct {
		goos, goarch string
		want         []string // a substring of each finding, in any order
	}{
		{"windows", "amd64", []string{"a_windows.go:3:", "cannot use \"42\""}},
		{"linux", "386", []string{"decl.go:5:", "missing function body: Add"}},
		{"darwin", "arm64", []string{"v_darwin_test.go:8:", "(vet printf)"}},
		{"linux", "amd64", nil},
	} {
		t.Run(tc.goos+"/"+tc.goarch, func(t *testing.T) {
			findings, err := check(dir, tc.goos, tc.goarch, []string{"./..."})
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(findings, "\n")
			wantCount := 1 // the planted fault, once
			if tc.want == nil {
				wantCount = 0
			}
			if len(findings) != wantCount {
				t.Fatalf("findings:\n%s\nwant %d", text, wantCount)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("findings:\n%s\nwant one containing %q", text, w)
				}
			}
		})
	}
}

// A pattern that matches nothing is a finding, not an empty pass.
func TestNoPackages(t *testing.T) {
	dir := writePlanted(t)
	findings, err := check(dir, "linux", "amd64", []string{"./nosuchdir/..."})
	if err == nil && len(findings) == 0 {
		t.Fatal("no error and no findings for a pattern that matches nothing")
	}
}
