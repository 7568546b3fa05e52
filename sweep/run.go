package sweep

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/atomicfile"
	"github.com/brainalign/brainalign/internal/crashpoint"
	"github.com/brainalign/brainalign/internal/outdir"
)

// BrainInfo describes the brain data of a sweep.
type BrainInfo struct {
	Path  string `json:"path"`
	Shape []int  `json:"shape"` // as stored, rows first
	DType string `json:"dtype"`
}

// IDFiles names the stimulus-id files that paired the activations' rows with the brain data's.
type IDFiles struct {
	Features string   `json:"features"`
	Brain    []string `json:"brain"`
}

// OptionsInfo records the encoding model's options.
type OptionsInfo = engine.OptionsSummary

// CheckpointInfo records one checkpoint.
type CheckpointInfo struct {
	Name    string   `json:"name"`
	Step    *float64 `json:"step"` // null when unknown
	Sources []string `json:"sources"`
}

// Manifest is sweep.json: what a sweep directory holds.
type Manifest struct {
	Format     int         `json:"format"`
	Version    string      `json:"version"`
	Model      string      `json:"model"`
	Subject    string      `json:"subject,omitempty"`
	Brain      BrainInfo   `json:"brain"`
	Rows       int         `json:"rows"`
	Targets    int         `json:"targets"`
	Trailing   []int       `json:"trailing_shape"` // the brain data's shape after the rows axis
	Options    OptionsInfo `json:"options"`
	FoldScheme string      `json:"fold_scheme,omitempty"` // how rows were split (the command line's description); the folds themselves are in Fingerprint
	// BrainMask and IDs name the files that chose the targets and rows scored (the data digest
	// covers their effect, not their names).
	BrainMask   []string `json:"brain_mask,omitempty"`
	IDs         *IDFiles `json:"ids,omitempty"`
	Fingerprint string   `json:"fingerprint"`
	DataDigest  string   `json:"data_digest,omitempty"` // every brain value and the row pairing (DataDigest)
	// RecordsDigest: the unit records of this folder carry the data digest (this version's
	// runs). Without it, sweep.json was written by an earlier version, whose records may lack it.
	RecordsDigest bool             `json:"records_digest,omitempty"`
	Layers        []string         `json:"layers"`
	Checkpoints   []CheckpointInfo `json:"checkpoints"`
	Metadata      MetaFlags        `json:"metadata"`
}

const manifestFormat = 1

// Steps returns the checkpoints' steps and whether every checkpoint has one.
func (m *Manifest) Steps() ([]float64, bool) {
	s := make([]float64, len(m.Checkpoints))
	for i, c := range m.Checkpoints {
		if c.Step == nil {
			return nil, false
		}
		s[i] = *c.Step
	}
	return s, len(s) > 0
}

// Shard selects units i, i+N, i+2N, ... of a sweep (Index 0-based). The zero value is the whole
// sweep.
type Shard struct{ Index, Count int }

func (s Shard) String() string {
	if s.Count <= 1 {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

func (s Shard) has(i int) bool { return s.Count <= 1 || i%s.Count == s.Index }

// ParseShard parses "i/N" (0 <= i < N).
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, e1 := strconv.Atoi(strings.TrimSpace(a))
	n, e2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || e1 != nil || e2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/N with 0 <= i < N (e.g. 0/4)", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// ShardFromEnv reads a Slurm job array's SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT; ok is
// false outside a job array. Task ids are taken relative to SLURM_ARRAY_TASK_MIN (0 if unset),
// so arrays numbered 1..N work too.
func ShardFromEnv(getenv func(string) string) (Shard, bool, error) {
	id, count := getenv("SLURM_ARRAY_TASK_ID"), getenv("SLURM_ARRAY_TASK_COUNT")
	if id == "" || count == "" {
		return Shard{}, false, nil
	}
	i, e1 := strconv.Atoi(id)
	n, e2 := strconv.Atoi(count)
	lo := 0
	if m := getenv("SLURM_ARRAY_TASK_MIN"); m != "" {
		v, err := strconv.Atoi(m)
		if err != nil {
			return Shard{}, false, fmt.Errorf("SLURM_ARRAY_TASK_MIN=%q is not an integer", m)
		}
		lo = v
	}
	step := 1 // a stepped array, --array=0-14:2: ids lo, lo+step, ...
	if st := getenv("SLURM_ARRAY_TASK_STEP"); st != "" {
		v, err := strconv.Atoi(st)
		if err != nil || v < 1 {
			return Shard{}, false, fmt.Errorf("SLURM_ARRAY_TASK_STEP=%q is not a positive integer", st)
		}
		step = v
	}
	if e1 != nil || e2 != nil || n < 1 || i-lo < 0 || (i-lo)%step != 0 || (i-lo)/step >= n {
		return Shard{}, false, fmt.Errorf("SLURM_ARRAY_TASK_ID=%q, SLURM_ARRAY_TASK_COUNT=%q (min %d, step %d): want an id within the array (an array of ids at a regular step; give --shard i/N otherwise)", id, count, lo, step)
	}
	return Shard{Index: (i - lo) / step, Count: n}, true, nil
}

// Fingerprint identifies brain data and options cheaply: the shape, a sample of rows, the folds
// and the options. A restarted sweep must have the same fingerprint as the units it reuses.
func Fingerprint(y engine.Matrix, o engine.Options) string {
	h := sha256.New()
	w := func(v ...any) {
		for _, x := range v {
			binary.Write(h, binary.LittleEndian, x)
		}
	}
	w(int64(y.Rows), int64(y.Cols))
	rows := []int{0, y.Rows / 2, y.Rows - 1}
	for _, i := range rows {
		for j := 0; j < y.Cols; j += 1 + y.Cols/4096 {
			w(math.Float64bits(y.At(i, j)))
		}
	}
	for _, f := range o.Folds {
		w(int64(len(f.Test)))
		for _, i := range f.Test {
			w(int64(i))
		}
	}
	w(o.Alphas)
	fmt.Fprintf(h, "%s|%v|%v|%s", o.Inner, o.SharedAlpha, o.NoIntercept, o.Precision)
	if o.Standardize { // only then: the fingerprints of sweeps from before the option stay valid
		fmt.Fprint(h, "|standardize")
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Config is one sweep run.
type Config struct {
	Dir         string         // output directory (created if missing)
	Plan        *Plan          // the units
	Session     engine.Session // opened once on the brain data
	Options     engine.Options // the options the session was opened with
	Brain       BrainInfo
	Rows        int
	Trailing    []int    // brain data shape after the rows axis (targets, or channels x times)
	Fingerprint string   // Fingerprint(brain, options)
	DataDigest  string   // DataDigest(brain, activation rows); empty: not checked
	Subject     string   // optional subject label, used to pair subjects across models
	FoldScheme  string   // how rows were split, for sweep.json (KFold, groups, a test set's file)
	BrainMask   []string // --brain-mask's files, for sweep.json
	IDs         *IDFiles // the id files that matched rows, for sweep.json (nil: rows as stored)
	Meta        Meta
	Shard       Shard
	Version     string
	// SameData, if set, reports whether a data digest that the folder's sweep.json holds and
	// DataDigest is not is of this run's data all the same, hashed in another form by an
	// earlier version (ids pairing the rows as stored: the rows copied, with the pairing); the
	// run then keeps the folder's digest, which its units' records carry. Called only then.
	SameData func(digest string) bool
	// Prepare, if set, transforms each activation matrix before scoring (e.g. selecting the
	// rows matched by stimulus id). It must return a matrix with Rows rows. It runs on the
	// prefetching goroutine, one unit ahead of scoring.
	Prepare func(engine.Matrix) engine.Matrix
	// SourceRows is the rows each activation matrix has as stored, before Prepare (DryRun
	// checks it from the files' headers); 0: Rows.
	SourceRows int
	// legacy: the folder's sweep.json, written by an earlier version, vouches for its records
	// without a digest (checkEarlier; set by Run and DryRun); legacyBy says on what: "digest"
	// (its data digest is this run's) or "fingerprint" (it kept none).
	legacy   bool
	legacyBy string
	// Progress, if set, is told about each unit of this shard that is computed, as it starts
	// (done units so far, skipped ones included), and once at the end.
	Progress func(done, total int, label string)
}

// Report says what a run did.
type Report struct {
	Units     int      // units in the whole sweep
	Shard     int      // units in this shard
	Skipped   int      // already done, not recomputed
	Computed  int      // scored now
	Redone    []string // units found incomplete or corrupt, or whose activations changed, and recomputed, with the reason
	Changed   int      // of Redone: units whose activations changed since they were scored
	Merged    bool     // every unit of the sweep is done and the tables hold them
	UpToDate  bool     // Merged by an earlier run: nothing changed since, the tables were not rewritten
	Remaining int      // units of other shards not yet done (when not merged)
	// StaleElsewhere is, of Remaining, the units of other shards that were done but whose
	// activations changed since: only their shards score them again (a merge refuses them).
	StaleElsewhere int
	// MergeRaced: every unit was done, but units changed while this run merged them (another
	// shard scoring one again), so the tables were not recorded as current; the shard that
	// changed them merges when it is done.
	MergeRaced bool
	Elapsed    time.Duration
	EngineName string
	Abandoned  int // temp files of killed runs removed (atomicfile.RemoveAbandoned)
	// MetaReplaced names the kinds of metadata given with other values than an earlier run's,
	// which this run replaced ("coordinates", "ROI labels", "times").
	MetaReplaced []string
	// Legacy is the number of unit records of an earlier version (no data digest) that this run
	// vouched for and gave its digest; LegacyBy says on what: "digest" (sweep.json's data digest
	// is this run's) or "fingerprint" (a version before digests: the shape, three sampled rows
	// and the options only, as that version reused them).
	Legacy   int
	LegacyBy string
	// RankDeficient lists the units scored now whose activations had directions numerically
	// zero in some training fold, dropped (their records' dropped_directions), as
	// "checkpoint/layer"; MostDropped is the most any fold of them dropped.
	RankDeficient []string
	MostDropped   int
}

func (c *Config) manifest() Manifest {
	m := Manifest{Format: manifestFormat, Version: c.Version, Model: c.Plan.Model, Subject: c.Subject, Brain: c.Brain,
		Rows: c.Rows, Targets: prod(c.Trailing), Trailing: c.Trailing, Options: c.Options.Summary(), FoldScheme: c.FoldScheme,
		BrainMask: c.BrainMask, IDs: c.IDs,
		Fingerprint: c.Fingerprint, DataDigest: c.DataDigest, RecordsDigest: true, Layers: c.Plan.Layers}
	for _, ck := range c.Plan.Checkpoints {
		ci := CheckpointInfo{Name: ck.Name}
		if ck.HasStep {
			s := ck.Step
			ci.Step = &s
		}
		for _, s := range ck.Layers {
			ci.Sources = append(ci.Sources, s.String())
		}
		m.Checkpoints = append(m.Checkpoints, ci)
	}
	m.Metadata = c.Meta.flags()
	return m
}

func prod(d []int) int {
	n := 1
	for _, v := range d {
		n *= v
	}
	return n
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	if s == "" || s == "." || s == ".." {
		s = "_" + s
	}
	return s
}

// unitBase is the path prefix of a unit's files.
func unitBase(dir, ckpt, layer string) string {
	return filepath.Join(dir, "units", safeName(ckpt), safeName(layer))
}

// unitRecord is a unit's .json, written after its arrays.
type unitRecord struct {
	Model       string   `json:"model"`
	Checkpoint  string   `json:"checkpoint"`
	Step        *float64 `json:"step"`
	Layer       string   `json:"layer"`
	LayerIndex  int      `json:"layer_index"`
	Depth       float64  `json:"relative_depth"`
	Source      string   `json:"source"`
	Input       *inputID `json:"input,omitempty"` // the source file as read; absent for in-memory sources and in records of older versions
	Features    int      `json:"features"`
	Fingerprint string   `json:"fingerprint"`
	DataDigest  string   `json:"data_digest,omitempty"` // the brain data scored against (DataDigest); absent in records of older versions
	Targets     int      `json:"targets"`
	Folds       int      `json:"folds"`
	MeanScore   float64  `json:"mean_score"`
	Degenerate  int      `json:"degenerate_targets"`
	Rank        []int    `json:"rank"`
	Dropped     []int    `json:"dropped_directions"`
	Engine      string   `json:"engine"`
	Seconds     float64  `json:"seconds"`
	Created     string   `json:"created"`
}

// readRecord reads a unit's record.
func readRecord(base string) (*unitRecord, error) {
	rec, _, err := readRecordBytes(base)
	return rec, err
}

// readRecordBytes is readRecord that also returns the record's bytes as read.
func readRecordBytes(base string) (*unitRecord, []byte, error) {
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		return nil, nil, errors.New("no record")
	}
	var rec unitRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, nil, fmt.Errorf("record unreadable: %v", err)
	}
	return &rec, b, nil
}

// unitWant is what a done unit's record and arrays must match: the sweep's brain data and
// options, the unit's names, and the shape of its arrays.
type unitWant struct {
	fingerprint string
	// digest is the sweep's DataDigest, which the record must hold ("": not checked). The
	// Fingerprint samples three rows of the brain data, so a record without the digest could
	// have been scored on other values: one is accepted only with legacy.
	digest   string
	legacy   bool // accept a record without a data digest (written by an earlier version)
	ckpt     string
	layer    string
	trailing []int
	folds    int
}

// manifestWant is what the units of the sweep described by m must match (records without a
// data digest are not accepted when m has one).
func manifestWant(m *Manifest, ckpt, layer string) unitWant {
	return unitWant{fingerprint: m.Fingerprint, digest: m.DataDigest, ckpt: ckpt, layer: layer, trailing: m.Trailing, folds: m.Options.Folds}
}

// sameData checks the record's brain data against w's: the fingerprint, and the data digest.
func (w unitWant) sameData(rec *unitRecord) error {
	switch {
	case rec.Fingerprint != w.fingerprint:
		return errors.New("record of another sweep")
	case w.digest == "" || rec.DataDigest == w.digest:
		return nil
	case rec.DataDigest == "" && w.legacy:
		return nil
	case rec.DataDigest == "":
		return errLegacyRecord
	}
	return fmt.Errorf("record of other brain data (data digest %s, this sweep's %s)", rec.DataDigest, w.digest)
}

// errLegacyRecord is a unit record of an earlier version, without a data digest, where the
// sweep's brain data have one: not known to be of this brain data until a run vouches for it.
var errLegacyRecord = errors.New("record without the brain data's digest (written by an earlier version), not known to be of this brain data")

// unitRecordDone checks a unit's files and returns its record when they are complete and
// consistent, else why not. It does not look at the unit's activations (sourceChecker.changed
// does).
func unitRecordDone(base string, w unitWant) (*unitRecord, error) {
	rec, err := readRecord(base)
	if err != nil {
		return nil, err
	}
	if rec.Checkpoint != w.ckpt || rec.Layer != w.layer || rec.Folds != w.folds || rec.Targets != prod(w.trailing) {
		return nil, errors.New("record of another sweep")
	}
	if err := w.sameData(rec); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		suffix string
		shape  []int
	}{{".scores.npy", w.trailing}, {".fold_scores.npy", append([]int{w.folds}, w.trailing...)}, {".alphas.npy", append([]int{w.folds}, w.trailing...)}} {
		if err := checkHeader(base+f.suffix, f.shape); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

// checkHeader checks a unit's array from its header and size: a float64 .npy of the given shape,
// complete. Its values are not read: a restart checks thousands of units (a 330,000-target
// unit's arrays are 29 MB), and the arrays are written whole before the record that makes the
// unit done; Merge, which reads the values, checks them.
func checkHeader(path string, shape []int) error {
	f, err := array.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	e := f.Arrays()[0]
	switch {
	case e.Err != nil:
		return e.Err
	case !slices.Equal(e.Shape, shape):
		return fmt.Errorf("%s: shape %v, want %v", path, e.Shape, shape)
	case e.DType != "float64":
		return fmt.Errorf("%s: %s data, want float64", path, e.DType)
	}
	return nil
}

// checkFloat64 checks that a result array read from path has the expected shape, is float64,
// and holds only finite values.
func checkFloat64(path string, a *array.Array, shape []int) error {
	if err := checkLayout(path, a, shape); err != nil {
		return err
	}
	return checkFiniteFile(path, a.F64)
}

// checkLayout checks that a result array read from path has the expected shape and is float64.
func checkLayout(path string, a *array.Array, shape []int) error {
	if !slices.Equal(a.Shape, shape) {
		return fmt.Errorf("%s: shape %v, want %v", path, a.Shape, shape)
	}
	if a.F64 == nil {
		return fmt.Errorf("%s: %s data, want float64", path, a.DType)
	}
	return nil
}

// makeOut creates the sweep folder dir and its missing parents, which are removed again when dir
// cannot be made (a full disk), as encode's (internal/outdir.MakeParents). A dir that is a
// symbolic link is written through, as encode's --out: a dangling link's target is created.
func makeOut(dir string) error {
	target := dir
	if st, err := os.Lstat(dir); err == nil && st.Mode()&fs.ModeSymlink != 0 {
		if target, err = outdir.Target(dir); err != nil {
			return err
		}
	}
	made, err := outdir.MakeParents(target)
	if err == nil {
		if err = os.MkdirAll(target, 0o777); err != nil {
			outdir.RemoveMade(made)
		}
	}
	if err != nil {
		if target != dir {
			return fmt.Errorf("%s (-> %s): cannot create: %v", dir, target, errors.Unwrap(err))
		}
		return fmt.Errorf("%s: cannot create: %v", dir, errors.Unwrap(err))
	}
	return nil
}

// Run scores the units of the configured shard that are not already done, then merges the
// tables when every unit of the sweep is done.
func Run(ctx context.Context, c Config) (*Report, error) {
	start := time.Now()
	if err := c.Plan.Validate(c.Dir); err != nil {
		return nil, err
	}
	if err := c.Meta.Check(c.Brain.Path, c.Trailing); err != nil {
		return nil, err
	}
	if err := makeOut(c.Dir); err != nil {
		return nil, err
	}
	man := c.manifest()
	mpath := filepath.Join(c.Dir, "sweep.json")
	vouched, err := checkEarlier(mpath, &man, c.SameData)
	if err != nil {
		return nil, err
	}
	c.legacy, c.legacyBy = vouched != "", vouched
	// this run's; or the folder's where this run computed none or SameData took it: the units
	// carry the folder's
	c.DataDigest = man.DataDigest
	metaReplaced, err := c.Meta.keepEarlier(c.Dir)
	if err != nil {
		return nil, err
	}
	man.Metadata = c.Meta.flags()
	units := c.Plan.Units()
	if err := c.checkUnitNames(units); err != nil {
		return nil, err
	}
	// Runs killed mid-write (time limits, preemption, out of memory) leave temp files of up to a
	// unit's arrays' size, and merges killed mid-write as large as fold_scores.npy (10 GB at a
	// study's scale); those of live shards on this or another node stay (internal/owner).
	abandoned := atomicfile.RemoveAbandoned(c.Dir, true)
	// Check the rows of one activation matrix before writing anything, so that a wrong input
	// fails at once and leaves no sweep.json that a corrected rerun would be refused by.
	if err := c.checkFirst(); err != nil {
		return nil, err
	}
	manifest, err := encodeJSON(mpath, man)
	if err != nil {
		return nil, err
	}
	// merged.json vouches for the tables as merged from sweep.json and meta/ (its stamp), and
	// Load goes by its presence: it goes before a rerun rewrites either with other contents,
	// so that a run killed before it merges again leaves the tables not current. A rerun that
	// changes neither keeps it (the shards of a finished sweep, resubmitted, merge nothing).
	if merged := filepath.Join(c.Dir, mergedFile); fileExists(merged) && c.Meta.changes(c.Dir, manifest) {
		if err := removeFile(merged); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if err := atomicfile.WriteBytes(mpath, manifest); err != nil {
		return nil, err
	}
	if err := c.Meta.save(c.Dir); err != nil {
		return nil, err
	}
	if metadataWritten != nil {
		metadataWritten()
	}

	legacy := 0
	if c.legacy {
		// Records of earlier versions (no data digest) get this run's, every shard's: Merge and
		// other shards require it, and this run's sweep.json vouches for the whole folder.
		legacy, err = c.stampLegacyRecords(units)
		if err != nil {
			return nil, err
		}
	}
	rep := &Report{Units: len(units), Abandoned: abandoned, MetaReplaced: metaReplaced, Legacy: legacy, LegacyBy: c.legacyBy}
	var mine []Unit
	for _, u := range units {
		if c.Shard.has(u.Index) {
			mine = append(mine, u)
		}
	}
	rep.Shard = len(mine)
	folds := len(c.Options.Folds)
	sc := newSourceChecker()
	var todo []Unit
	for _, u := range mine {
		st := c.unitState(u, sc, folds)
		if st.done {
			rep.Skipped++
			continue
		}
		if st.changed {
			rep.Changed++
			// Its old scores must not be merged, even if this run stops before rescoring it, nor
			// the tables that hold them read as current.
			removeFile(filepath.Join(c.Dir, mergedFile))
			removeFile(st.base + ".json")
		}
		if st.redo != "" {
			rep.Redone = append(rep.Redone, st.redo)
		}
		todo = append(todo, u)
	}
	// The next unit's activations are read while this one is scored, and announced to engines
	// that start on them early (prefetch.go).
	if len(todo) > 0 {
		// the tables will no longer hold every unit as scored: not current until merged again
		removeFile(filepath.Join(c.Dir, mergedFile))
	}
	pf := c.prefetch(todo)
	defer pf.stop() // also withdraws the announcements
	for k, u := range todo {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		ck, ly := c.Plan.Checkpoints[u.Checkpoint].Name, c.Plan.Layers[u.Layer]
		if c.Progress != nil {
			c.Progress(rep.Skipped+k, len(mine), ck+"/"+ly)
		}
		acts := pf.next()
		if acts.err != nil {
			return rep, acts.err
		}
		err := c.scoreUnit(ctx, u, acts.x, acts.id, unitBase(c.Dir, ck, ly), rep)
		acts.release()
		if err != nil {
			return rep, err
		}
		rep.Computed++
	}
	if c.Progress != nil {
		c.Progress(len(mine), len(mine), "")
	}
	for _, u := range units {
		if c.Shard.has(u.Index) {
			continue
		}
		rec, changed := c.doneElsewhere(u, sc)
		if changed != "" {
			// Its shard scores it again; until then the tables hold scores of activations
			// that are no longer there.
			rep.StaleElsewhere++
			removeFile(filepath.Join(c.Dir, mergedFile))
		}
		if rec == nil {
			rep.Remaining++
		}
	}
	if rep.Remaining == 0 {
		// A rerun that scored nothing merges again only what changed since the last merge
		// (metadata, a unit scored by another shard, a merge that did not finish).
		if rep.Computed > 0 || !mergeCurrent(c.Dir) {
			mr, err := merge(ctx, c.Dir, true, nil)
			switch {
			case errors.Is(err, ErrUnitsChanged):
				rep.MergeRaced = true
			case err != nil:
				return rep, err
			default:
				rep.UpToDate = mr.UpToDate
				rep.Abandoned += mr.Abandoned
				rep.Merged = true
			}
		} else {
			rep.UpToDate = true
			rep.Merged = true
			// A merge killed once it had recorded its tables (before it released its lock)
			// left nothing to merge again, but its lock: no merge comes to remove it.
			if removeAbandonedLock(c.Dir) {
				rep.Abandoned++
			}
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// optionDiffs lists how this run's options differ from an earlier sweep's: its model's, the
// folds, the precision.
func optionDiffs(old, now *Manifest) []string {
	diffs := old.Options.ModelDiff(now.Options)
	// other rows give other fold sizes: checkEarlier names the rows instead
	if old.Rows == now.Rows && !slices.Equal(old.Options.FoldSizes, now.Options.FoldSizes) {
		diffs = append(diffs, fmt.Sprintf("folds of %v held-out rows, now %v", old.Options.FoldSizes, now.Options.FoldSizes))
	}
	// folds of the same sizes split otherwise (--shuffle-seed, --groups): the scheme says how
	if old.FoldScheme != "" && now.FoldScheme != "" && old.FoldScheme != now.FoldScheme {
		diffs = append(diffs, fmt.Sprintf("folds by %s, now by %s", old.FoldScheme, now.FoldScheme))
	}
	if old.Options.Precision != now.Options.Precision {
		diffs = append(diffs, fmt.Sprintf("--precision %s, now %s", old.Options.Precision, now.Options.Precision))
	}
	return diffs
}

// checkEarlier refuses to mix this run's units with those of an earlier sweep in the same
// folder (its sweep.json at mpath) of other brain data, options, model or layers; man is this
// run's manifest, which keeps the earlier data digest when this run computed none, or when same
// (Config.SameData; nil: none) says it is of this run's data hashed in another form. vouched
// ("digest" or "fingerprint", "" for none) says that sweep.json was written by an earlier
// version whose records may lack the data digest, for this run's brain data as far as it can
// tell: its data digest is this run's, or it kept none (a version before digests, which reused
// units on the fingerprint alone). A sweep.json of this version vouches for nothing: its
// records all have the digest, and one without is not of its runs (the folder's sweep.json
// removed, say).
func checkEarlier(mpath string, man *Manifest, same func(string) bool) (vouched string, err error) {
	if b, err := os.ReadFile(mpath); err == nil {
		var old Manifest
		if err := json.Unmarshal(b, &old); err == nil {
			if old.Fingerprint != man.Fingerprint {
				what := "other brain data or options"
				diffs := optionDiffs(&old, man)
				if len(diffs) > 0 {
					what = "other options: " + strings.Join(diffs, "; ")
				}
				// another --brain-mask or id matching: the rows or targets scored, and the
				// options that differ too (each must be changed back to reuse the folder)
				otherShape := old.Rows != man.Rows || !slices.Equal(old.Trailing, man.Trailing)
				if otherShape {
					what = fmt.Sprintf("other brain data: %d rows x targets shaped %v, now %d x %v", old.Rows, old.Trailing, man.Rows, man.Trailing)
					if len(diffs) > 0 {
						what += ", and other options: " + strings.Join(diffs, "; ")
					}
				}
				// The same values and options leave the folds' rows as what differs (the
				// fingerprint holds them): said, since nothing on the command line shows it.
				sameData := old.DataDigest != "" && man.DataDigest != "" &&
					(old.DataDigest == man.DataDigest || same != nil && same(old.DataDigest))
				if !otherShape && len(diffs) == 0 && sameData {
					scheme := man.FoldScheme
					if scheme == "" {
						scheme = "the same scheme"
					}
					return "", fmt.Errorf("%s: holds a sweep of the same brain data and options whose folds hold other rows "+
						"(folds by %s: a --groups, --test-fold or --test-ids file changed since, or, with --groups, "+
						"a brainalign from before 2026-12-07, which dealt more than 16 groups of equal sizes to other folds than scikit-learn's GroupKFold) "+
						"(fingerprint %s, this run %s); use another --out, or remove the whole folder %s to score again in this run's folds",
						mpath, scheme, old.Fingerprint, man.Fingerprint, filepath.Dir(mpath))
				}
				return "", fmt.Errorf("%s: holds a sweep of %s (fingerprint %s, this run %s); use another --out",
					mpath, what, old.Fingerprint, man.Fingerprint)
			}
			// Sweeps of earlier versions have no digest: only their fingerprint can be compared.
			if old.DataDigest != "" && man.DataDigest != "" && old.DataDigest != man.DataDigest && same != nil && same(old.DataDigest) {
				man.DataDigest = old.DataDigest
			}
			if old.DataDigest != "" && man.DataDigest != "" && old.DataDigest != man.DataDigest {
				return "", fmt.Errorf("%s: holds a sweep of other brain data: same shape and options, but other values "+
					"or another pairing of stimulus ids (data digest %s, this run %s); use another --out, or remove the whole folder %s "+
					"(not sweep.json alone: its units hold the old data's scores) to score again",
					mpath, old.DataDigest, man.DataDigest, filepath.Dir(mpath))
			}
			if old.DataDigest != "" && man.DataDigest == "" {
				man.DataDigest = old.DataDigest // a run that did not compute it keeps the record
			}
			switch {
			case old.RecordsDigest || man.DataDigest == "":
			case old.DataDigest == man.DataDigest:
				vouched = "digest"
			case old.DataDigest == "":
				vouched = "fingerprint"
			}
			if old.Model == man.Model && !slices.Equal(old.Layers, man.Layers) && sameSet(old.Layers, man.Layers) {
				return "", fmt.Errorf("%s: holds a sweep of the same layers in another order ([%s]; this run orders them [%s]: "+
					"layer names are sorted number by number, blocks.2 before blocks.10); its layer depths differ, use another --out",
					mpath, strings.Join(old.Layers, ", "), strings.Join(man.Layers, ", "))
			}
			if old.Model != man.Model || !slices.Equal(old.Layers, man.Layers) || len(old.Checkpoints) != len(man.Checkpoints) {
				return "", fmt.Errorf("%s: holds a sweep of model %q with %d checkpoints x %d layers; this run has %q with %d x %d; use another --out",
					mpath, old.Model, len(old.Checkpoints), len(old.Layers), man.Model, len(man.Checkpoints), len(man.Layers))
			}
			return vouched, nil
		}
	}
	return "", nil
}

// stampLegacyRecords gives the records of units written by earlier versions (no data digest)
// of this sweep (its fingerprint, checkpoint and layer) this run's data digest.
func (c *Config) stampLegacyRecords(units []Unit) (int, error) {
	n := 0
	for _, u := range units {
		ck, ly := c.Plan.Checkpoints[u.Checkpoint].Name, c.Plan.Layers[u.Layer]
		base := unitBase(c.Dir, ck, ly)
		rec, read, err := readRecordBytes(base)
		if err != nil || !c.legacyRecord(rec, ck, ly) {
			continue
		}
		rec.DataDigest = c.DataDigest
		if legacyStamping != nil {
			legacyStamping(base)
		}
		// A shard scoring the unit again may have written its record since: stamp the record
		// as read, not over a fresh one (the window left is this check's and the write's).
		if now, err := os.ReadFile(base + ".json"); err != nil || !bytes.Equal(now, read) {
			continue
		}
		if err := writeJSON(base+".json", rec); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// legacyRecord reports whether rec, the record of unit ck/ly, is one of an earlier version of
// this sweep (its fingerprint, checkpoint and layer) without the data digest: stampLegacyRecords
// gives it this run's.
func (c *Config) legacyRecord(rec *unitRecord, ck, ly string) bool {
	return rec.DataDigest == "" && rec.Fingerprint == c.Fingerprint && rec.Checkpoint == ck && rec.Layer == ly
}

// metadataWritten, when set (by tests), is called once a run has written sweep.json and meta/,
// before it scores or merges anything.
var metadataWritten func()

// legacyStamping, when set (tests), is called after a legacy record was read to be stamped.
var legacyStamping func(base string)

// checkUnitNames checks that no two units' file names collide after sanitising.
func (c *Config) checkUnitNames(units []Unit) error {
	seen := map[string]string{}
	for _, u := range units {
		ck, ly := c.Plan.Checkpoints[u.Checkpoint].Name, c.Plan.Layers[u.Layer]
		b := unitBase(c.Dir, ck, ly)
		if prev, dup := seen[b]; dup {
			return fmt.Errorf("%s: units %s and %s/%s map to the same file name %s", c.Dir, prev, ck, ly, b)
		}
		seen[b] = ck + "/" + ly
	}
	return nil
}

// unitFiles says where a unit stands in the output folder.
type unitFiles struct {
	base    string      // the path prefix of its files
	done    bool        // complete, of this sweep, and scored from the activations now in its source
	rec     *unitRecord // its record when done
	changed bool        // complete, but its activations changed since
	redo    string      // "checkpoint/layer: why" when files of it exist but cannot be reused
}

// unitState checks a unit's files (its record, its arrays' headers) and compares its record with
// its source as it is now.
func (c *Config) unitState(u Unit, sc *sourceChecker, folds int) unitFiles {
	ck, ly := c.Plan.Checkpoints[u.Checkpoint].Name, c.Plan.Layers[u.Layer]
	st := unitFiles{base: unitBase(c.Dir, ck, ly)}
	rec, why := unitRecordDone(st.base, c.want(ck, ly, folds))
	switch {
	case why == nil:
		// Done, but from the activations now in its source?
		changed, unchecked := sc.changed(c.Plan.Checkpoints[u.Checkpoint].Layers[u.Layer], rec)
		switch {
		case unchecked != nil:
			// Not known to be done; its record stays, for a merge or a later run that can look.
			st.redo = ck + "/" + ly + ": its activations cannot be checked: " + unchecked.Error()
		case changed != "":
			st.changed, st.redo = true, ck+"/"+ly+": "+changed
		default:
			st.done, st.rec = true, rec
		}
	case fileExists(st.base + ".json"):
		st.redo = ck + "/" + ly + ": " + why.Error()
	case fileExists(st.base + ".scores.npy"):
		st.redo = ck + "/" + ly + ": interrupted before its record was written"
	}
	return st
}

// want is what this run's units must match; legacy records (no data digest) are accepted
// when sweep.json vouches for them.
func (c *Config) want(ck, ly string, folds int) unitWant {
	return unitWant{fingerprint: c.Fingerprint, digest: c.DataDigest, legacy: c.legacy, ckpt: ck, layer: ly, trailing: c.Trailing, folds: folds}
}

// doneElsewhere returns the record of another shard's unit when it is done: its record exists,
// of this sweep's brain data (the data digest, or a record of an earlier version that this
// run's sweep.json vouches for: Run gives them the digest first), and its activations did not
// change (a shard scores its own units again when they did, and merges then); nil when not
// done, or when its source cannot be looked at now. changed says how the activations
// of a unit that was done changed ("" when they did not). Its arrays are that shard's to check.
func (c *Config) doneElsewhere(u Unit, sc *sourceChecker) (rec *unitRecord, changed string) {
	ck, ly := c.Plan.Checkpoints[u.Checkpoint].Name, c.Plan.Layers[u.Layer]
	rec, err := readRecord(unitBase(c.Dir, ck, ly))
	if err != nil || rec.Checkpoint != ck || rec.Layer != ly {
		return nil, ""
	}
	w := c.want(ck, ly, len(c.Options.Folds))
	if w.sameData(rec) != nil {
		return nil, ""
	}
	changed, unchecked := sc.changed(c.Plan.Checkpoints[u.Checkpoint].Layers[u.Layer], rec)
	switch {
	case unchecked != nil:
		return nil, "" // not known done, nor known changed: its shard looks again
	case changed != "":
		return nil, changed
	}
	return rec, ""
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (c *Config) checkFirst() error {
	var ld loader
	defer ld.close()
	src := c.Plan.Checkpoints[0].Layers[0]
	if src.Func != nil {
		return nil // built in memory: checked when scored
	}
	_, _, release, err := c.loadRows(&ld, src)
	if err != nil {
		return err
	}
	release()
	return nil
}

func (c *Config) scoreUnit(ctx context.Context, u Unit, x engine.Matrix, id *inputID, base string, rep *Report) error {
	ck := c.Plan.Checkpoints[u.Checkpoint]
	src := ck.Layers[u.Layer]
	res, err := c.Session.Score(ctx, x) // checks x (finite values) once, in the engine
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	rep.EngineName = res.Engine
	if d := slices.Max(append(res.Dropped, 0)); d > 0 {
		rep.RankDeficient = append(rep.RankDeficient, ck.Name+"/"+c.Plan.Layers[u.Layer])
		rep.MostDropped = max(rep.MostDropped, d)
	}
	if err := os.MkdirAll(filepath.Dir(base), 0o777); err != nil {
		return err
	}
	perFold := append([]int{res.Folds}, c.Trailing...)
	for _, f := range []struct {
		suffix string
		shape  []int
		data   []float64
	}{{".scores.npy", c.Trailing, res.Scores}, {".fold_scores.npy", perFold, res.FoldScores}, {".alphas.npy", perFold, res.Alphas}} {
		if err := array.WriteNPY(base+f.suffix, f.shape, f.data); err != nil {
			return err
		}
	}
	rec := unitRecord{Model: c.Plan.Model, Checkpoint: ck.Name, Layer: c.Plan.Layers[u.Layer], LayerIndex: u.Layer,
		Depth: float64(u.Layer) / float64(len(c.Plan.Layers)-1), Source: src.String(), Input: id, Features: x.Cols,
		Fingerprint: c.Fingerprint, DataDigest: c.DataDigest, Targets: res.Targets, Folds: res.Folds, MeanScore: mean(res.Scores),
		Degenerate: res.DegenerateTargets, Rank: res.Rank, Dropped: res.Dropped, Engine: res.Engine,
		Seconds: res.Timings.Total.Seconds(), Created: time.Now().UTC().Format(time.RFC3339)}
	if ck.HasStep {
		s := ck.Step
		rec.Step = &s
	}
	// A merge that began before this unit's old record was removed may have recorded its tables
	// as current since: they are not, once the new record is written.
	if err := removeFile(filepath.Join(c.Dir, mergedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return writeJSON(base+".json", rec)
}

// sameSet reports whether a and b hold the same names (each once), in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	slices.Sort(sa)
	slices.Sort(sb)
	return slices.Equal(sa, sb)
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func writeJSON(path string, v any) error {
	b, err := encodeJSON(path, v)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, b)
}

// encodeJSON is v as writeJSON writes it into path.
func encodeJSON(path string, v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return append(b, '\n'), nil
}

// removeFile is os.Remove of a file of the sweep folder, a step at which tests kill a run
// (internal/crashpoint) when it removed something.
func removeFile(path string) error {
	err := os.Remove(path)
	if err == nil {
		crashpoint.Step("removed", path)
	}
	return err
}
