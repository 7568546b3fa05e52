package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/internal/atomicfile"
	"github.com/brainalign/brainalign/internal/crashpoint"
	"github.com/brainalign/brainalign/internal/outdir"
)

// createOut stages an output folder (internal/outdir) for encode, synth and, through
// writeResults, the metric commands, first making its missing parent folders (`--out
// results/subj01_layer12` in a fresh clone). The returned cleanup, deferred, removes the staging
// folder and, unless the output was committed, the parents it made.
func createOut(path string, overwrite bool) (*outdir.Dir, func(), error) {
	made, err := makeParents(path)
	if err != nil {
		return nil, nil, err
	}
	out, err := outdir.Create(path, overwrite)
	if err != nil {
		outdir.RemoveMade(made)
		return nil, nil, err
	}
	return out, func() {
		out.Abort()
		if !out.Committed() {
			outdir.RemoveMade(made)
		}
	}, nil
}

// checkOut refuses, before anything is computed, a metric command's --out that could not be
// written: one that exists and is not a directory, or whose nearest existing folder (itself, or
// the one it would be made in) is not a folder this process may write (internal/outdir), so that
// a long run fails in its first second rather than after its compute.
func checkOut(out string) error {
	if st, err := os.Stat(out); err == nil && !st.IsDir() {
		return fmt.Errorf("--out %s: exists and is not a directory", out)
	}
	if err := outdir.CheckWritable(out); err != nil {
		return fmt.Errorf("--out %v", err)
	}
	return nil
}

// putFile writes the file name of a command's output with write, as atomicfile.Write does: into
// a folder staged as a whole (outdir.Dir.Write), in a batch (atomicfile.Batch.Write), or into a
// folder as it is (putIn). Its errors name the file by the path it has once written.
type putFile func(name string, write func(w io.Writer) error) error

// bytes writes b as the file name.
func (put putFile) bytes(name string, b []byte) error {
	return put(name, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// json writes v as the file name: indented JSON (writeJSON's).
func (put putFile) json(name string, v any) error {
	b, err := jsonBytes(v)
	if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return put.bytes(name, b)
}

// npy writes data of the given shape as the file name, a .npy file (array.WriteNPY's).
func (put putFile) npy(name string, shape []int, data any) error {
	write, err := array.NPYWriter(shape, data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return put(name, write)
}

// putIn writes the files of a command's results straight into dir, each atomically.
func putIn(dir string) putFile {
	return func(name string, write func(w io.Writer) error) error {
		return atomicfile.Write(filepath.Join(dir, name), write)
	}
}

// writeResults writes a metric command's results into out once they are computed: write writes
// its files, each by put, and returns their names. A folder that does not exist, or is empty, is
// staged (internal/outdir) and appears only when every file is written, so a run that fails
// leaves no folder behind (nor the parent folders it made for it). In an existing folder that
// holds files (earlier results, other commands' results), or that cannot be replaced (the
// working directory, a mount point), the files are written under temp names and renamed into
// place together once the last is written (atomicfile.Batch): a run that fails, or is
// interrupted, leaves the earlier results whole, not mixed with new ones, and the folder's
// other files are kept. Errors name a file by its path in out, not by its staging name. Once
// ctx is done (a signal), nothing is written and ctx's error returned.
//
// optional names the files the command writes on some runs only (figures, which --no-figures or
// a drawing failure leaves out; the files of an option): those an earlier run left in the folder
// that this run does not write are removed once its files are in place, so that the folder does
// not keep one run's numbers beside another run's figure. A process killed (SIGKILL) while the
// files are renamed into place one by one, or before those removals, leaves files of both runs
// in the folder until the next run (TestMetricResultsCrashEveryStep); a new folder appears whole.
func writeResults(ctx context.Context, out string, write func(put putFile) ([]string, error), optional ...string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkOut(out); err != nil {
		return nil, err
	}
	st, err := os.Stat(out)
	switch {
	case err == nil && st.IsDir():
		entries, err := os.ReadDir(out)
		if err != nil {
			return nil, fmt.Errorf("--out %s: %v", out, err)
		}
		// A mount point (a container's volume) cannot be replaced as a whole either.
		if len(entries) > 0 || outdir.HoldsWorkDir(out) || outdir.IsMountPoint(out) {
			return replaceResults(ctx, out, write, optional)
		}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("--out %s: %v", out, err)
	}
	d, cleanup, err := createOut(out, false)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	files, err := write(d.Write)
	if err == nil {
		err = ctx.Err() // a signal while the files were written
	}
	if err == nil {
		err = d.Commit()
	}
	if err != nil {
		return nil, err
	}
	return files, nil
}

// replaceResults is writeResults into the existing folder out, which holds files.
func replaceResults(ctx context.Context, out string, write func(put putFile) ([]string, error), optional []string) ([]string, error) {
	atomicfile.RemoveAbandoned(out, false) // the staged files of a killed run
	b := atomicfile.NewBatch(out)
	defer b.Abort()
	files, err := write(b.Write)
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = b.Commit()
	}
	if err != nil {
		return nil, err
	}
	for _, name := range optional {
		if slices.Contains(files, name) {
			continue
		}
		p := filepath.Join(out, name)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: an earlier run's, not written this time, and it cannot be removed: %v (the new results are written)", p, err)
		} else if err == nil {
			crashpoint.Step("removed", p)
		}
	}
	return files, nil
}

// removeEarlierMaps is writeResults' removal of optional files for the maps of result name in
// the data's space, whose names vary with it (array.IsNamedFile: best_layer_depth.nii.gz,
// lh.best_layer_depth.mgz, ...): once this run's files are in place, those of name in out that
// it did not write (files) are an earlier run's over another space, or over one where this run
// had none (.npy sweeps), and are removed.
func removeEarlierMaps(out string, files []string, name string) error {
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("%s: %v (the new results are written)", out, err)
	}
	for _, e := range entries {
		if e.IsDir() || !array.IsNamedFile(e.Name(), name) || slices.Contains(files, e.Name()) {
			continue
		}
		p := filepath.Join(out, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: an earlier run's, not written this time, and it cannot be removed: %v (the new results are written)", p, err)
		} else if err == nil {
			crashpoint.Step("removed", p)
		}
	}
	return nil
}

// makeParents makes the missing parent folders of out (outdir.MakeParents), saying which could
// not be made.
func makeParents(out string) ([]string, error) {
	made, err := outdir.MakeParents(out)
	if err != nil {
		return nil, fmt.Errorf("--out %s: cannot create %s: %v", out, filepath.Dir(filepath.Clean(out)), err)
	}
	return made, nil
}

// csvFloat is a CSV cell for v with the given significant digits; NaN (undefined) is an empty
// cell, which pandas reads as NaN.
func csvFloat(v float64, digits int) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', digits, 64)
}

// csvCell quotes a cell that holds a comma, quote or line break.
func csvCell(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// keepFigure returns files with the figure name added, or, when drawing it failed, files as they
// were after a warning on w: a figure illustrates the numbers written beside it, and its failure
// must not lose them (the output's other files are written all the same). A figure drawn but
// not written (a full disk, a quota: an error of the file system) is an error of the output as
// any other file's would be, returned: the command fails, leaving the folder's earlier results
// whole, where a warning would let it succeed without the figure and remove an earlier run's.
func keepFigure(w io.Writer, files []string, name string, err error) ([]string, error) {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, err
	}
	if err != nil {
		fmt.Fprintf(w, "brainalign: warning: %s not drawn (the other files are written): %v\n", name, err)
		return files, nil
	}
	return append(files, name), nil
}

// droppedNote says that directions of the activations were dropped as numerically zero (at most
// most in a training fold), and why that may be: docs/design.md §2's "drop ... and say so". With more
// features than training images the rank is bounded by the images, so only dependent images
// (the same image twice) lower it; otherwise dependent or constant features do too, and
// features of very different scales unless they were standardised; standardised without an
// intercept (StandardScaler(with_mean=False)), a feature far from zero on a tiny spread becomes
// such a scale itself: its mean over its spread.
func droppedNote(most int, standardized, intercept bool) string {
	scales := ", or features whose scales differ by about 1e6 or more, whose smallest directions float64 cannot resolve (--standardize them)"
	switch {
	case standardized && !intercept:
		scales = ", or a feature far from zero on a tiny spread, which --standardize without an intercept divides into a column of its mean over its spread, about 1e6 or more times the others, whose directions float64 then cannot resolve (centre the features, or drop --no-intercept)"
	case standardized:
		scales = ""
	}
	return fmt.Sprintf("directions of the activations numerically zero were dropped (up to %d in a training fold; dropped_directions in the records): "+
		"images whose activations repeat or are combinations of others (the same image twice), duplicated or constant features%s", most, scales)
}
