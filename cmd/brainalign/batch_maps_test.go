package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brainalign/brainalign/array"
)

// A map rewritten into a folder that holds files (a metric rerun: atomicfile.Batch) is named
// after its file, as in a new folder: the CIFTI map best_layer_depth, the .nii.gz's gzip name
// best_layer_depth.nii. The writers took the names from the path they wrote, which in a batch
// was the file's temp name (.best_layer_depth.dscalar.nii.tmp-…).
func TestBatchMapsNamedAfterFile(t *testing.T) {
	for _, c := range []struct{ space, file string }{
		{"mixed.dtseries.nii", "best_layer_depth.dscalar.nii"},
		{"float32_be.nii", "best_layer_depth.nii.gz"},
	} {
		g, err := array.ReadGeometry(neuroFile(c.space))
		must(t, err)
		out := t.TempDir()
		must(t, os.WriteFile(filepath.Join(out, "spatial.json"), []byte("{}\n"), 0o644)) // earlier results
		files, err := writeResults(context.Background(), out, func(put putFile) ([]string, error) {
			return writeVolumes(g, put, map[string][]float64{"best_layer_depth": make([]float64, g.Targets())})
		})
		if err != nil || len(files) != 1 || files[0] != c.file {
			t.Fatalf("%s: %v, %v; want %s", c.space, files, err, c.file)
		}
		b, err := os.ReadFile(filepath.Join(out, c.file))
		must(t, err)
		if strings.HasSuffix(c.file, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			must(t, err)
			if zr.Name != "best_layer_depth.nii" {
				t.Errorf("%s: gzip name %q, want best_layer_depth.nii", c.file, zr.Name)
			}
			continue
		}
		if !bytes.Contains(b, []byte("<MapName>best_layer_depth</MapName>")) {
			i := bytes.Index(b, []byte("<MapName>"))
			t.Errorf("%s: map not named best_layer_depth: %.80s", c.file, b[max(i, 0):])
		}
	}
}
