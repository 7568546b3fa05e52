package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/brainalign/brainalign/internal/atomicfile"
)

// demoStudyStub stands for demo --study-out DIR [--overwrite] in a crash test's child process
// (crashChildMain, args demoStudyStub DIR CONTENT [--overwrite]): demo's checks and
// replaceStudyOut as runDemo calls them, with a study of a few files written in demoStudy's
// order (the sweeps first, spatial/spatial.json later), each holding CONTENT.
const demoStudyStub = "test:demo-study-out"

func runDemoStudyStub(args []string) error {
	dir, content := args[0], args[1]
	if err := checkStudyOut(dir, slices.Contains(args, "--overwrite")); err != nil {
		return err
	}
	return replaceStudyOut(dir, func() error {
		for _, f := range []string{"sweeps/sub-01/scores.npy", "sweeps/sub-01/sweep.json", "spatial/spatial.json", "spatial/spatial.png"} {
			p := filepath.Join(dir, filepath.FromSlash(f))
			if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
				return err
			}
			b := []byte(content)
			if strings.HasSuffix(f, ".json") {
				b, _ = json.Marshal(map[string]string{"command": filepath.Base(filepath.Dir(f)), "run": content})
			}
			if err := atomicfile.WriteBytes(p, b); err != nil {
				return err
			}
		}
		return nil
	})
}
