package sweep

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/internal/outdir"
)

// A dry run says what Run would do, and finds the inputs that would stop it, without scoring or
// writing anything and without an engine: on a cluster's login node, before a job array is
// submitted. Every unit's activations are checked from their files' headers (readable, 2-d,
// numbers, not bools, the brain data's rows); with scanValues their values are read too (NaN, Inf,
// values float32 cannot hold, a corrupt compressed member), which reads the whole model. The
// output folder's units are classified as Run classifies them.

// DryRunReport is what Run would do with a Config.
type DryRunReport struct {
	Units, Shard int // units in the sweep, and in this shard
	// Of this shard's units: Done are finished and would be reused; ToScore would be scored,
	// among them Redo, those with files that cannot be reused (with the reason: "ckpt/layer: why").
	Done, ToScore int
	Redo          []string
	Remaining     int  // units of other shards not done
	Existing      bool // the output folder holds a sweep of this data (sweep.json)
	// Problems names each unit (or file) that cannot be scored and why, one line each. Run stops
	// at the first of them.
	Problems []string
	// OutProblem says why the output folder could not be written ("" when it could); it is
	// among Problems too.
	OutProblem string
	Checked    int           // units whose inputs were checked (sources built in memory are not)
	Layers     []LayerInputs // per layer, in the plan's order
	// Merge: Run would write the tables (scores.npy, fold_scores.npy, table.csv, steps.npy)
	// once this shard's units are scored, every unit of the sweep being done then. With no unit
	// to score it merges only when what a merge reads changes or changed since the last merge:
	// Remerge names what (sweep.json's fields, such as checkpoint steps, the files of meta/, a
	// merge that did not finish). Not Merge: units of other shards remain, or the tables are
	// current and would be kept.
	Merge   bool
	Remerge []string
	// Timed are the engines that scored the done units (all shards), with their mean time per
	// unit: the basis of an estimate of what is left.
	Timed []EngineTime
}

// LayerInputs sums up one layer's activations over checkpoints.
type LayerInputs struct {
	Name                     string
	MinFeatures, MaxFeatures int      // over the checkpoints whose array could be read
	DTypes                   []string // distinct, as stored
}

// EngineTime is the scoring time of the done units of one engine.
type EngineTime struct {
	Engine  string
	Units   int
	Seconds float64 // mean per unit
}

// DryRun checks c as Run would and reports what Run would do; Session may be nil. An error is a
// problem with the sweep as a whole (its plan, metadata, or an output folder holding another
// sweep); problems with single units are listed in the report.
func DryRun(c Config, scanValues bool) (*DryRunReport, error) {
	if err := c.Plan.Validate(c.Dir); err != nil {
		return nil, err
	}
	if err := c.Meta.Check(c.Brain.Path, c.Trailing); err != nil {
		return nil, err
	}
	units := c.Plan.Units()
	if err := c.checkUnitNames(units); err != nil {
		return nil, err
	}
	rep := &DryRunReport{Units: len(units)}
	mpath := filepath.Join(c.Dir, "sweep.json")
	man := c.manifest()
	if _, err := os.Stat(mpath); err == nil {
		vouched, err := checkEarlier(mpath, &man, c.SameData)
		if err != nil {
			return nil, err
		}
		c.legacy, c.legacyBy = vouched != "", vouched
		c.DataDigest = man.DataDigest
		rep.Existing = true
	}
	// Run keeps an earlier run's metadata, and stops when it cannot read them (c is a copy:
	// what keepEarlier merges into its Meta goes nowhere).
	if _, err := c.Meta.keepEarlier(c.Dir); err != nil {
		return nil, err
	}
	man.Metadata = c.Meta.flags()
	if err := outdir.CheckWritable(c.Dir); err != nil {
		rep.OutProblem = "out " + err.Error()
		rep.Problems = append(rep.Problems, rep.OutProblem)
	}
	c.checkInputs(rep, units, scanValues)

	folds := len(c.Options.Folds)
	sc := newSourceChecker()
	timed := timeTally{}
	for _, u := range units {
		if !c.Shard.has(u.Index) {
			rec, _ := c.doneElsewhere(u, sc)
			if rec == nil {
				rep.Remaining++
			}
			timed.add(rec)
			continue
		}
		rep.Shard++
		st := c.unitState(u, sc, folds)
		if st.done {
			rep.Done++
			timed.add(st.rec)
			continue
		}
		rep.ToScore++
		if st.redo != "" {
			rep.Redo = append(rep.Redo, st.redo)
		}
	}
	rep.Timed = timed.list()
	switch {
	case rep.Remaining > 0: // the last shard to finish merges
	case rep.ToScore > 0:
		rep.Merge = true
	default:
		why, err := c.remerge(man, units)
		if err != nil {
			return nil, err
		}
		rep.Merge, rep.Remerge = len(why) > 0, why
	}
	return rep, nil
}

// remerge names why Run, scoring no unit, would merge the tables again: what it would write
// that mergeStamp hashes (sweep.json from man, the metadata, legacy records given the data
// digest), or tables that are not current already; none when it would keep them.
func (c *Config) remerge(man Manifest, units []Unit) ([]string, error) {
	manifest, err := encodeJSON(filepath.Join(c.Dir, "sweep.json"), man)
	if err != nil {
		return nil, err
	}
	why := c.Meta.stampChanges(c.Dir, manifest, true)
	if c.legacy {
		n := 0
		for _, u := range units {
			ck, ly := c.Plan.Checkpoints[u.Checkpoint].Name, c.Plan.Layers[u.Layer]
			if rec, err := readRecord(unitBase(c.Dir, ck, ly)); err == nil && c.legacyRecord(rec, ck, ly) {
				n++
			}
		}
		if n > 0 {
			why = append(why, fmt.Sprintf("%d unit record(s) of an earlier version get the data digest", n))
		}
	}
	if len(why) == 0 && !mergeCurrent(c.Dir) {
		why = append(why, "the tables are not current (not merged since units were scored, or a merge did not finish)")
	}
	return why, nil
}

// timeTally sums the scoring times of units by engine.
type timeTally map[string]*EngineTime

func (t timeTally) add(rec *unitRecord) {
	if rec == nil || rec.Engine == "" || rec.Seconds <= 0 {
		return
	}
	e := t[rec.Engine]
	if e == nil {
		e = &EngineTime{Engine: rec.Engine}
		t[rec.Engine] = e
	}
	e.Seconds += rec.Seconds
	e.Units++
}

// list is the engines with their mean time per unit, the one with the most units first.
func (t timeTally) list() []EngineTime {
	var out []EngineTime
	for _, e := range t {
		out = append(out, EngineTime{Engine: e.Engine, Units: e.Units, Seconds: e.Seconds / float64(e.Units)})
	}
	slices.SortFunc(out, func(a, b EngineTime) int {
		if a.Units != b.Units {
			return b.Units - a.Units
		}
		return strings.Compare(a.Engine, b.Engine)
	})
	return out
}

// checkInputs checks every unit's activations, as loader.load and Config.loadRows would find
// them, opening each file once per run of units that share it.
func (c *Config) checkInputs(rep *DryRunReport, units []Unit, scanValues bool) {
	rows := c.SourceRows
	if rows == 0 {
		rows = c.Rows
	}
	rep.Layers = make([]LayerInputs, len(c.Plan.Layers))
	for l, name := range c.Plan.Layers {
		rep.Layers[l].Name = name
	}
	var open *array.File
	var openPath string
	var openErr error
	defer func() { open.Close() }()
	failed := map[string]bool{} // files reported unreadable (once each)
	for _, u := range units {
		src := c.Plan.Checkpoints[u.Checkpoint].Layers[u.Layer]
		if src.Func != nil {
			continue
		}
		rep.Checked++
		if openPath != src.Path {
			open.Close()
			open, openErr = array.Open(src.Path)
			openPath = src.Path
		}
		if openErr != nil {
			if !failed[src.Path] {
				rep.Problems = append(rep.Problems, openErr.Error())
				failed[src.Path] = true
			}
			continue
		}
		e, err := entryOf(open, src)
		if err == nil {
			err = c.checkEntry(src, e, rows)
		}
		if err == nil && scanValues {
			err = c.scanValues(open, src, e)
		}
		if err != nil {
			rep.Problems = append(rep.Problems, err.Error())
			continue
		}
		li := &rep.Layers[u.Layer]
		d := e.Shape[1]
		if li.MaxFeatures == 0 {
			li.MinFeatures, li.MaxFeatures = d, d
		}
		li.MinFeatures, li.MaxFeatures = min(li.MinFeatures, d), max(li.MaxFeatures, d)
		if !slices.Contains(li.DTypes, e.DType) {
			li.DTypes = append(li.DTypes, e.DType)
		}
	}
}

// entryOf finds a source's array in its open file, as loader.take would read it.
func entryOf(f *array.File, src Source) (*array.Entry, error) {
	if src.Member == "" {
		arrs := f.Arrays()
		if len(arrs) == 0 {
			return nil, fmt.Errorf("%s: holds no array", src.Path)
		}
		return arrs[0], nil
	}
	if e := f.Lookup(src.Member); e != nil {
		return e, nil
	}
	for _, o := range f.NotArrays() {
		if o.Name == src.Member || o.Member == src.Member {
			return nil, o.Err
		}
	}
	return nil, fmt.Errorf("%s: no array named %q", src.Path, src.Member)
}

// checkEntry checks an array's header: readable, 2-d, numbers (floats, or integers as
// loader.load converts them; not bools), rows as stored.
func (c *Config) checkEntry(src Source, e *array.Entry, rows int) error {
	switch {
	case e.Err != nil:
		return e.Err
	case len(e.Shape) != 2:
		return fmt.Errorf("%s: features must be 2-d (images x features), got shape %v", src, e.Shape)
	case !e.Numbers():
		return fmt.Errorf("%s: dtype %s: activations must be numbers (float16, bfloat16, float32, float64, or integers)", src, e.DType)
	case e.Shape[0] != rows && (c.Prepare != nil || rows != c.Rows): // rows paired by id: the ids are one per row
		return fmt.Errorf("%s: %d rows, but the feature ids list %d (one per row of every activation file)", src, e.Shape[0], rows)
	case e.Shape[0] != rows:
		return fmt.Errorf("%s: %d rows, but the brain data %s has %d (rows must be the same stimuli)", src, e.Shape[0], c.Brain.Path, c.Rows)
	case e.Shape[1] == 0:
		return fmt.Errorf("%s: no features (shape %v)", src, e.Shape)
	}
	return nil
}

// scanValues reads an array and checks the values the engine would score (after Prepare), in
// the sweep's precision.
func (c *Config) scanValues(f *array.File, src Source, e *array.Entry) error {
	a, err := f.Read(e.Name)
	if err != nil {
		return err
	}
	defer a.Close()
	x, err := a.Matrix()
	if err != nil {
		return err
	}
	if c.Prepare != nil {
		x = c.Prepare(x)
	}
	return x.CheckValues(src.String(), c.Options.Precision)
}
