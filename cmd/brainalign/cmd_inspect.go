package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/textlist"
	"github.com/brainalign/brainalign/sweep"
)

func init() {
	registerCommand(argsCommand(&cli.Command{
		Name:      "inspect",
		Usage:     "describe array files, sweep folders and model folders: shapes, dtypes, a sweep's progress",
		ArgsUsage: "PATH ...",
		Description: "For each PATH:\n" +
			"  .npy, .npz, .safetensors   every array: name, shape, dtype, order, size (--values: also\n" +
			"                             min, max and mean of the finite values and the count of NaN\n" +
			"                             and Inf, reading the data), and the members that are not\n" +
			"                             arrays, with why; NIfTI, MGH, CIFTI and GIFTI files: also their\n" +
			"                             space; MNE epochs (-epo.fif): also the times, the channels, the\n" +
			"                             parts of a split file, the events (name = code, epochs) and the\n" +
			"                             metadata's columns\n" +
			"  .h5, .hdf5, v7.3 .mat      every dataset, named by its path (group/data), as for .npz\n" +
			"  a sweep folder             its model, subject, brain data, options, units done of all, time\n" +
			"                             per unit, the latest units' rate and the time left at it, whether\n" +
			"                             merged: for watching a job array (reads only the folder's files)\n" +
			"  a folder holding sweeps    one line per sweep (units with a record, merged or not; from the\n" +
			"                             files' names alone, for many sweeps)\n" +
			"  a model's activations      the checkpoints and layers `brainalign sweep` would find\n" +
			"  a results folder           of encode, predict, ceiling, spatial, rank, ...: the command\n" +
			"                             that wrote it, its version and date, and its arrays' shapes\n" +
			"Without --values only headers are read: a compressed file damaged past its header\n" +
			"(.nii.gz, .mgz, a deflated .npz member) is found by --values, which then exits 1.\n" +
			"Nothing is written.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "values", Usage: "arrays: read the data for min, max, mean, NaN and Inf counts"},
		},
		Action: runInspect,
	}, true))
}

func runInspect(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageError("inspect needs a PATH (an array file, a sweep folder, or a folder holding either)")
	}
	// Every path is described; one that cannot be is reported and the others still are.
	w := c.App.Writer
	failed := 0
	for i, p := range c.Args().Slice() {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := inspectPath(w, p, c.Bool("values")); err != nil {
			fmt.Fprintf(c.App.ErrWriter, "%v\n", err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d paths could not be described (above)", failed, c.NArg())
	}
	return nil
}

func inspectPath(w io.Writer, p string, values bool) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("%s: %v", p, errUnwrapPath(err))
	}
	if !st.IsDir() {
		return inspectArrays(w, p, values)
	}
	if fileExists(filepath.Join(p, "sweep.json")) {
		s, err := sweep.ReadStatus(p)
		if err != nil {
			return err
		}
		printStatus(w, s, time.Now())
		if s.Merged && s.Current { // older tables are not read (the status says "not current")
			fmt.Fprint(w, "  ")
			if _, err := layerProfile(w, p); err != nil {
				return err
			}
		}
		return nil
	}
	if ok, err := inspectResults(w, p); ok || err != nil {
		return err
	}
	if dirs, err := sweep.FindSweeps([]string{p}); err == nil {
		noun := "sweeps"
		if len(dirs) == 1 {
			noun = "sweep"
		}
		fmt.Fprintf(w, "%s: %d %s\n", p, len(dirs), noun)
		for _, d := range dirs { // many sweeps: counted from their files' names, none read
			s, err := sweep.ReadStatusQuick(d)
			if err != nil {
				fmt.Fprintf(w, "  %s: %v\n", d, err)
				continue
			}
			m := s.Manifest
			fmt.Fprintf(w, "  %-40s model %s, subject %s: %d of %d units done, %s\n", d, m.Model, orDefault(m.Subject, "-"),
				s.Done, s.Units, mergeState(s))
		}
		return nil
	}
	plan, err := sweep.Discover(p, "")
	if err != nil {
		return fmt.Errorf("%s: neither sweeps nor a model's activations: %v", p, err)
	}
	fmt.Fprintf(w, "%s: model %s, %d checkpoint(s) x %d layers\n", p, plan.Model, len(plan.Checkpoints), len(plan.Layers))
	fmt.Fprintf(w, "  layers, shallow to deep: %s\n", textlist.Some(plan.Layers, 6))
	var cks []string
	for _, ck := range plan.Checkpoints {
		name := ck.Name
		if ck.HasStep {
			name += " (step " + strconv.FormatFloat(ck.Step, 'f', -1, 64) + ")"
		}
		cks = append(cks, name)
	}
	fmt.Fprintf(w, "  checkpoints: %s\n", textlist.Some(cks, 6))
	if groups := plan.OrderDoubt(); len(groups) > 0 {
		fmt.Fprintf(w, "  the layer names fall in %d groups (%s), ordered by name between groups: give sweep --layers if that is not their depth\n", len(groups), strings.Join(groups, ", "))
	}
	for _, sk := range plan.Skipped {
		fmt.Fprintf(w, "  skipped %s\n", sk)
	}
	return nil
}

// resultRecords are the JSON records the commands write in their results folders.
var resultRecords = []string{"summary.json", "ceiling.json", "spatial.json", "temporal.json", "halftime.json",
	"compare.json", "rank.json", "scaling.json", "universal.json", "rsa.json", "predict.json"}

// inspectResults describes a folder of a command's results (encode, ceiling, spatial, ...: its
// record says which), listing its arrays; false when p is not one.
func inspectResults(w io.Writer, p string) (bool, error) {
	for _, name := range resultRecords {
		b, err := os.ReadFile(filepath.Join(p, name))
		if err != nil {
			continue
		}
		var rec struct{ Command, Version, Created string }
		if json.Unmarshal(b, &rec) != nil || rec.Command == "" {
			continue
		}
		fmt.Fprintf(w, "%s: results of brainalign %s (version %s, %s; %s has the details)\n", p, rec.Command,
			orDefault(rec.Version, "?"), orDefault(rec.Created, "?"), name)
		entries, err := os.ReadDir(p)
		if err != nil {
			return true, err
		}
		for _, e := range entries {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.IsDir() || ext != ".npy" && ext != ".npz" && !array.IsNeuro(e.Name()) {
				continue
			}
			f, err := array.Open(filepath.Join(p, e.Name()))
			if err != nil {
				fmt.Fprintf(w, "  %-32s unreadable: %v\n", e.Name(), err)
				continue
			}
			for _, a := range f.Arrays() {
				if a.Err == nil {
					fmt.Fprintf(w, "  %-32s %-18s %s\n", e.Name(), array.ShapeString(a.Shape), a.DType)
				}
			}
			f.Close()
		}
		return true, nil
	}
	return false, nil
}

func errUnwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func mergeState(s *sweep.Status) string {
	switch {
	case s.Current:
		return "merged"
	case s.Merged:
		return "merged before the latest units (not current)"
	}
	return "not merged"
}

// printStatus prints a sweep's progress at time now.
func printStatus(w io.Writer, s *sweep.Status, now time.Time) {
	m := s.Manifest
	fmt.Fprintf(w, "%s: sweep of model %s", s.Dir, m.Model)
	if m.Subject != "" {
		fmt.Fprintf(w, ", subject %s", m.Subject)
	}
	fmt.Fprintf(w, ", against %s (%s %s)\n", m.Brain.Path, array.ShapeString(m.Brain.Shape), m.Brain.DType)
	o := m.Options
	grid := ""
	if len(o.Alphas) > 0 {
		grid = fmt.Sprintf(" (%g to %g)", o.Alphas[0], o.Alphas[len(o.Alphas)-1])
	}
	folds := fmt.Sprintf("%d folds", o.Folds)
	if o.Folds == 1 {
		folds = "1 fold"
	}
	var about []string
	if len(o.FoldSizes) == 1 {
		about = append(about, fmt.Sprintf("%d held-out rows", o.FoldSizes[0]))
	}
	if m.FoldScheme != "" && m.FoldScheme != contiguousKFold {
		about = append(about, m.FoldScheme)
	}
	if len(about) > 0 {
		folds += " (" + strings.Join(about, "; ") + ")"
	}
	fmt.Fprintf(w, "  %d checkpoint(s) x %d layers = %d units; %s, %d penalties%s, inner %s, %s\n",
		len(m.Checkpoints), len(m.Layers), s.Units, folds, len(o.Alphas), grid, o.Inner, o.Precision)
	fmt.Fprintf(w, "  metadata: %s\n", metadataKinds(m.Metadata))
	printPartsChannels(w, s)
	fmt.Fprintf(w, "  %d of %d units done (%.0f%%), %s\n", s.Done, s.Units, 100*float64(s.Done)/float64(max(s.Units, 1)), mergeState(s))
	for _, t := range s.Timed {
		fmt.Fprintf(w, "  %s per unit on %s (%d units)\n", roughly(time.Duration(t.Seconds*float64(time.Second))), t.Engine, t.Units)
	}
	if l := s.Lock; l != nil {
		state := "a merge in progress"
		if l.Abandoned {
			state = "left by a killed merge (the next merge removes it)"
		}
		fmt.Fprintf(w, "  merge.lock: %s (holder %s, touched %s ago)\n", state, orDefault(l.Holder, "?"), now.Sub(l.Touched).Round(time.Second))
	}
	printTemp(w, s)
	if s.Last.IsZero() {
		return
	}
	left := s.Units - s.Done
	line := fmt.Sprintf("  the latest unit finished %s ago", now.Sub(s.Last).Round(time.Second))
	if s.Recent > 0 {
		line += fmt.Sprintf("; the latest %d took %s (%.3g units/min over all shards)", s.RecentN, s.RecentSpan.Round(time.Second), 60*s.Recent)
		if left > 0 {
			line += fmt.Sprintf(": %d left, about %s at that rate", left, roughly(time.Duration(float64(left)/s.Recent*float64(time.Second))))
		}
	}
	fmt.Fprintln(w, line)
}

// printPartsChannels says what decides which subjects pool with the sweep: the files its targets
// were joined from (hemispheres) and its MEG channels.
func printPartsChannels(w io.Writer, s *sweep.Status) {
	if len(s.Parts) > 0 {
		var parts []string
		for _, p := range s.Parts {
			parts = append(parts, fmt.Sprintf("%s (%d)", p.Name, p.Targets))
		}
		fmt.Fprintf(w, "  targets joined from %d files: %s\n", len(s.Parts), strings.Join(parts, " + "))
	}
	if c := s.Channels; len(c) > 0 {
		list := strings.Join(c, ", ")
		if len(c) > 6 {
			list = strings.Join(c[:3], ", ") + ", ..., " + strings.Join(c[len(c)-2:], ", ")
		}
		fmt.Fprintf(w, "  %d MEG channels: %s (subjects pool channel by channel only with these, in this order)\n", len(c), list)
	}
	if s.MetaErr != "" {
		fmt.Fprintf(w, "  metadata unreadable: %s\n", s.MetaErr)
	}
}

// printTemp lists the temp files of a sweep folder with their sizes: those of killed runs and
// merges (a merge's can be as large as fold_scores.npy) stay until the next run or merge.
func printTemp(w io.Writer, s *sweep.Status) {
	if len(s.Temp) == 0 {
		return
	}
	var dead, live int64
	nd := 0
	for _, t := range s.Temp {
		if t.Abandoned {
			dead += t.Size
			nd++
		} else {
			live += t.Size
		}
	}
	fmt.Fprintf(w, "  %d temp file(s): %d left by killed runs or merges (%s; removed by the next run or sweep --merge-only), %d being written (%s)\n",
		len(s.Temp), nd, engine.FormatBytes(dead), len(s.Temp)-nd, engine.FormatBytes(live))
	for _, t := range s.Temp {
		state := "being written"
		if t.Abandoned {
			state = "abandoned"
		}
		rel, err := filepath.Rel(s.Dir, t.Path)
		if err != nil {
			rel = t.Path
		}
		fmt.Fprintf(w, "    %-56s %10s  %s\n", rel, engine.FormatBytes(t.Size), state)
	}
}

// metadataKinds names the kinds of brain metadata a sweep saved (what its metrics can use).
func metadataKinds(f sweep.MetaFlags) string {
	var kinds []string
	for _, k := range []struct {
		has  bool
		name string
	}{{f.Coords, "coordinates (spatial)"}, {f.ROI, "ROI labels"}, {f.Times, "MEG times (temporal)"}, {f.Ceiling, "noise ceiling (--ceiled)"}, {f.Space, "space of the targets (NIfTI, MGH, CIFTI or GIFTI maps of the results)"}} {
		if k.has {
			kinds = append(kinds, k.name)
		}
	}
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, ", ")
}

// inspectArrays lists the arrays of an array file.
func inspectArrays(w io.Writer, p string, values bool) error {
	f, err := array.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	arrs := f.Arrays()
	fmt.Fprintf(w, "%s: %d array(s)\n", p, len(arrs))
	if array.IsNeuro(p) { // its space: what results over its targets are written in
		if g, err := array.ReadGeometry(p); err == nil {
			fmt.Fprintf(w, "  space: %s\n", g.Describe())
		}
	}
	if array.IsFIF(p) { // MNE epochs: their time axis and channels (Open has read the series)
		if info, err := array.FIFInfo(p); err == nil {
			describeEpochs(w, info)
			describeEvents(w, p)
		}
	}
	unreadable := 0 // arrays that cannot be read: the file is damaged, and inspect says so by its exit status
	for _, e := range arrs {
		name := e.Name
		if name == p {
			name = filepath.Base(p)
		}
		if e.Err != nil {
			fmt.Fprintf(w, "  %-32s unreadable: %v\n", name, e.Err)
			unreadable++
			continue
		}
		order := "C"
		if e.Fortran {
			order = "Fortran"
		}
		fmt.Fprintf(w, "  %-32s %-18s %-8s %-7s %s\n", name, array.ShapeString(e.Shape), e.DType, order, byteSize(e))
		if values {
			a, err := f.Read(e.Name)
			if err != nil {
				fmt.Fprintf(w, "    unreadable: %v\n", err)
				unreadable++
				continue
			}
			fmt.Fprintf(w, "    %s\n", valueSummary(a))
			a.Close()
		}
	}
	for _, e := range f.NotArrays() {
		fmt.Fprintf(w, "  %-32s not an array: %v\n", orDefault(e.Member, e.Name), e.Err)
	}
	if unreadable > 0 {
		return fmt.Errorf("%s: %d of its %d array(s) could not be read (above)", p, unreadable, len(arrs))
	}
	return nil
}

// describeEpochs prints an MNE epochs file's time axis, channels and split parts.
func describeEpochs(w io.Writer, info *array.EpochsInfo) {
	t := info.Times
	fmt.Fprintf(w, "  times: %d samples, %g to %g s at %g Hz (seconds from each epoch's event)\n", len(t), t[0], t[len(t)-1], info.SFreq)
	fmt.Fprintf(w, "  channels: %d: %s\n", len(info.Channels), textlist.Some(info.Channels, 8))
	if len(info.Parts) > 1 {
		parts := make([]string, len(info.Parts))
		for i, p := range info.Parts {
			parts[i] = filepath.Base(p)
		}
		fmt.Fprintf(w, "  split in %d parts: %s\n", len(parts), textlist.Some(parts, 8))
	}
}

// describeEvents prints an MNE epochs file's events (each name or code and its count of epochs)
// and metadata columns: the stimulus ids --brain-ids and ceiling --ids can take from it.
func describeEvents(w io.Writer, path string) {
	ev, err := array.FIFEvents(path)
	if err != nil {
		fmt.Fprintf(w, "  events: %v\n", err)
		return
	}
	count := map[int]int{}
	for _, c := range ev.Codes {
		count[c]++
	}
	name := map[int]string{}
	for _, e := range ev.EventID {
		if _, dup := name[e.Code]; !dup {
			name[e.Code] = e.Name
		}
	}
	var items []string
	form := "code (epochs)" // MNE's default names, each code's number
	for _, c := range slices.Sorted(maps.Keys(count)) {
		if n, ok := name[c]; ok && n != strconv.Itoa(c) {
			items = append(items, fmt.Sprintf("%s = %d (%d)", n, c, count[c]))
			form = "name = code (epochs)"
		} else {
			items = append(items, fmt.Sprintf("%d (%d)", c, count[c]))
		}
	}
	fmt.Fprintf(w, "  events: %d over %d epochs, %s: %s; as ids: --brain-ids/--ids FILE\n", len(count), len(ev.Codes), form, textlist.Some(items, 8))
	if ev.Columns == nil {
		fmt.Fprintln(w, "  metadata: none")
		return
	}
	fmt.Fprintf(w, "  metadata: %d columns: %s; as ids: --brain-ids/--ids FILE:COLUMN\n", len(ev.Columns), textlist.Some(ev.Columns, 20))
}

var dtypeBytes = map[string]int{"float16": 2, "bfloat16": 2, "float32": 4, "float64": 8, "int8": 1, "uint8": 1, "bool": 1,
	"int16": 2, "uint16": 2, "int32": 4, "uint32": 4, "int64": 8, "uint64": 8}

func byteSize(e *array.Entry) string {
	n := 1
	for _, d := range e.Shape {
		n *= d
	}
	size, ok := dtypeBytes[e.DType]
	if !ok {
		return ""
	}
	return engine.FormatBytes(int64(n * size))
}

// valueSummary is min, max and mean of the finite values of an array's data, and the count of
// the others.
func valueSummary(a *array.Array) string {
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	n, nan, inf := 0, 0, 0
	add := func(v float64) {
		switch {
		case math.IsNaN(v):
			nan++
		case math.IsInf(v, 0):
			inf++
		default:
			lo, hi, sum, n = min(lo, v), max(hi, v), sum+v, n+1
		}
	}
	buf := make([]float64, 1<<14) // the values of any dtype, a piece at a time
	for from := 0; ; {
		k := a.Float64s(from, buf)
		if k == 0 {
			break
		}
		for _, v := range buf[:k] {
			add(v)
		}
		from += k
	}
	if n == 0 && nan == 0 && inf == 0 {
		return "no values (the array is empty)"
	}
	if n == 0 {
		return fmt.Sprintf("no finite value (NaN %d, Inf %d)", nan, inf)
	}
	return fmt.Sprintf("min %.6g, max %.6g, mean %.6g; NaN %d, Inf %d", lo, hi, sum/float64(n), nan, inf)
}
