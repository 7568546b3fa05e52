package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// A figure that cannot be drawn is said and left out; the files written beside it stay listed
// (their output is committed), where the error used to abort the whole output.
func TestKeepFigure(t *testing.T) {
	var warn strings.Builder
	files := keepFigure(&warn, []string{"temporal.json"}, "temporal.png", nil)
	if !slices.Equal(files, []string{"temporal.json", "temporal.png"}) || warn.Len() > 0 {
		t.Errorf("a figure drawn: %v, %q", files, warn.String())
	}
	files = keepFigure(&warn, []string{"temporal.json"}, "temporal.png", errors.New("figures: LayerTime: drawing failed: boom"))
	if !slices.Equal(files, []string{"temporal.json"}) || !strings.Contains(warn.String(), "warning: temporal.png not drawn (the other files are written): figures: LayerTime: drawing failed: boom") {
		t.Errorf("a figure failing: %v, %q", files, warn.String())
	}
}
