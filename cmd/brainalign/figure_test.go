package main

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// A figure that cannot be drawn is said and left out; the files written beside it stay listed
// (their output is committed), where the error used to abort the whole output. A figure drawn
// but not written (the file system's error: a full disk) fails the output as any file would.
func TestKeepFigure(t *testing.T) {
	var warn strings.Builder
	files, err := keepFigure(&warn, []string{"temporal.json"}, "temporal.png", nil)
	if !slices.Equal(files, []string{"temporal.json", "temporal.png"}) || warn.Len() > 0 || err != nil {
		t.Errorf("a figure drawn: %v, %q, %v", files, warn.String(), err)
	}
	files, err = keepFigure(&warn, []string{"temporal.json"}, "temporal.png", errors.New("figures: LayerTime: drawing failed: boom"))
	if !slices.Equal(files, []string{"temporal.json"}) || err != nil || !strings.Contains(warn.String(), "warning: temporal.png not drawn (the other files are written): figures: LayerTime: drawing failed: boom") {
		t.Errorf("a figure failing: %v, %q, %v", files, warn.String(), err)
	}
	warn.Reset()
	full := fmt.Errorf("atomicfile: out/temporal.png: %w", &fs.PathError{Op: "write", Path: "out/.temporal.png.tmp-1", Err: syscall.ENOSPC})
	files, err = keepFigure(&warn, []string{"temporal.json"}, "temporal.png", full)
	if err != full || files != nil || warn.Len() > 0 {
		t.Errorf("a figure not written: %v, %q, %v; want the error %v", files, warn.String(), err, full)
	}
}
