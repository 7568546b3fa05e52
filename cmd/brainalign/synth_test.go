package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/internal/sysmem"
)

// A study that cannot fit in memory is refused before anything is generated, naming the flags
// that size it: a billion subjects (or a hundred million trials per image) ended the process with
// the runtime's fatal out-of-memory error and a dump of every goroutine, its staging folder left
// behind.
func TestSynthRefusesAStudyBeyondMemory(t *testing.T) {
	if _, ok := sysmem.Available(); !ok {
		t.Skip("the available memory is unknown here")
	}
	dir := t.TempDir()
	for _, c := range []struct{ flag, value string }{{"--subjects", "1000000000"}, {"--trials", "100000000"}} {
		_, stderr, code := runCLI(t, "synth", "--out", filepath.Join(dir, "study"), c.flag, c.value)
		msg := strings.TrimSpace(stderr)
		if code != 1 || !strings.Contains(msg, c.flag+" "+c.value) || !strings.Contains(msg, "of memory needed") || strings.Contains(msg, "\n") {
			t.Errorf("synth %s %s: exit %d, stderr %q; want exit 1 and one line naming the flag and the memory", c.flag, c.value, code, stderr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("synth %s %s left %v", c.flag, c.value, entries)
		}
	}
}
