package sweep

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/brainalign/brainalign/array"
	"github.com/brainalign/brainalign/internal/atomicfile"
)

// readManifest reads dir/sweep.json.
func readManifestJSON(dir string) (*Manifest, error) {
	p := filepath.Join(dir, "sweep.json")
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: no sweep.json: not a sweep output folder (make one with `brainalign sweep`)", dir)
		}
		return nil, fmt.Errorf("%s: %v", p, errors.Unwrap(err))
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: unreadable: %v", p, err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("%s: format %d, this version reads %d", p, m.Format, manifestFormat)
	}
	if len(m.Layers) < 2 || len(m.Checkpoints) == 0 || m.Targets != prod(m.Trailing) || m.Options.Folds < 1 {
		return nil, fmt.Errorf("%s: inconsistent (%d layers, %d checkpoints, %d targets for shape %v, %d folds)",
			p, len(m.Layers), len(m.Checkpoints), m.Targets, m.Trailing, m.Options.Folds)
	}
	return &m, nil
}

// ErrNotMerged is the error of reading the tables of a sweep that is not merged (its units are
// not all done, or the last shard has not merged them yet).
var ErrNotMerged = errors.New("the sweep is not merged")

// ErrUnitsChanged is the error of a merge during which units changed (another shard scored
// one again): the tables it wrote are not recorded as current.
var ErrUnitsChanged = errors.New("units changed during the merge")

// MergeResult says what MergeTables did.
type MergeResult struct {
	// UpToDate: another merge held the folder's lock, and the tables it wrote hold every unit
	// as it is now; they were not written again.
	UpToDate bool
	// Abandoned is the number of temp files of killed runs and merges removed.
	Abandoned int
}

// Merge assembles the units of the sweep in dir into scores.npy (checkpoints x layers x
// targets...), fold_scores.npy (checkpoints x layers x folds x targets...), steps.npy and
// table.csv, and records the merge in merged.json (see MergeTables).
func Merge(dir string) error {
	_, err := MergeTables(context.Background(), dir, nil)
	return err
}

// MergeTables is Merge, saying what it did. Every unit must be done, of the brain data in
// sweep.json (its data digest), and scored from the activations its record names as they are
// now: a source file whose size or modification time changed since is refused (its shard
// scores the unit again; a source no longer at its path, moved or deleted, is not checked).
// One merge runs at a time (merge.lock); a merge that waited for another merges only if that
// one's tables are not current (waiting, if set, is told when it begins to wait). It first removes the temp files that killed runs and merges
// left in dir and below (internal/atomicfile). When units change while it reads them (a shard
// scoring one again), it writes the tables but not merged.json, and returns ErrUnitsChanged.
// When ctx is done (a signal), the wait for another merge's lock, or the merge between two
// units' reads, ends with ctx's error: a merge stopped before it wrote anything leaves the
// folder as it was; one stopped while writing leaves the tables not current (no merged.json),
// so that the next run merges again.
func MergeTables(ctx context.Context, dir string, waiting func(*MergeLock)) (*MergeResult, error) {
	return merge(ctx, dir, false, waiting)
}

// merge is MergeTables. fromRun: Run merges, which has just removed the temp files below dir
// and compared every unit's source with the plan's (a folder moved keeps its units there):
// only the merge's own temp files are removed, and the sources are not checked again.
func merge(ctx context.Context, dir string, fromRun bool, waiting func(*MergeLock)) (*MergeResult, error) {
	if _, err := readManifestJSON(dir); err != nil {
		return nil, err
	}
	unlock, waited, err := lockMerge(ctx, dir, waiting)
	if err != nil {
		return nil, err
	}
	defer unlock()
	res := &MergeResult{Abandoned: atomicfile.RemoveAbandoned(dir, !fromRun)}
	if waited && mergeCurrent(dir) {
		res.UpToDate = true
		return res, nil
	}
	return res, mergeLocked(ctx, dir, !fromRun)
}

// mergeLocked merges, holding the merge lock; checkInputs: refuse units whose source files
// changed. It returns ctx's error, between units, once ctx is done.
func mergeLocked(ctx context.Context, dir string, checkInputs bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m, err := readManifestJSON(dir)
	if err != nil {
		return err
	}
	// Stamped before the manifest is used and the metadata are read: a run replacing either
	// during the merge (new --steps, --roi) changes the stamp, so that tables built from the
	// old ones are not recorded as current.
	stamp, err := mergeStamp(dir, m)
	if err != nil {
		return err
	}
	if again, err := readManifestJSON(dir); err != nil || !reflect.DeepEqual(again, m) {
		return fmt.Errorf("%s: %w (a run replaced sweep.json as the merge began); run the merge again", dir, ErrUnitsChanged)
	}
	meta, err := loadMeta(dir)
	if err != nil {
		return err
	}
	if mergeRead != nil {
		mergeRead()
	}
	C, L, M, F := len(m.Checkpoints), len(m.Layers), m.Targets, m.Options.Folds
	var missing, changed []string
	legacy := 0 // records of earlier versions, without a data digest
	for _, ck := range m.Checkpoints {
		for _, ly := range m.Layers {
			if err := ctx.Err(); err != nil {
				return err
			}
			rec, why := unitRecordDone(unitBase(dir, ck.Name, ly), manifestWant(m, ck.Name, ly))
			if errors.Is(why, errLegacyRecord) {
				legacy++
			}
			if why != nil {
				missing = append(missing, ck.Name+"/"+ly+" ("+why.Error()+")")
			} else if checkInputs {
				if diff := inputChanged(rec.Input); diff != "" {
					changed = append(changed, ck.Name+"/"+ly+" ("+diff+")")
				}
			}
		}
	}
	if len(missing) > 0 {
		if legacy > 0 {
			return fmt.Errorf("%s: %d of %d units have records of an earlier version, without the brain data's digest (first: %s); run the sweep again (any one shard: it vouches for the folder's records, and skips the finished units), then merge",
				dir, legacy, C*L, missing[0])
		}
		return fmt.Errorf("%s: %d of %d units are not done (first: %s); run the remaining shards first", dir, len(missing), C*L, missing[0])
	}
	if len(changed) > 0 {
		// the tables hold those units' old scores: not current
		if err := removeFile(filepath.Join(dir, mergedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fmt.Errorf("%s: the activations of %d of %d units changed since they were scored (first: %s); "+
			"run the sweep again (their shards) to score them anew, then it merges", dir, len(changed), C*L, changed[0])
	}
	if err := ctx.Err(); err != nil { // the last moment to stop with the folder as it was
		return err
	}
	// tables being rewritten are not current until merged.json is written again, last
	if err := removeFile(filepath.Join(dir, mergedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	scores := make([]float64, C*L*M)
	for c, ck := range m.Checkpoints {
		for l, ly := range m.Layers {
			if err := ctx.Err(); err != nil {
				return err
			}
			s, err := readUnitArray(dir, ck.Name, ly, ".scores.npy", m.Trailing)
			if err != nil {
				return err
			}
			copy(scores[(c*L+l)*M:], s)
		}
	}
	if err := array.WriteNPY(filepath.Join(dir, "scores.npy"), append([]int{C, L}, m.Trailing...), scores); err != nil {
		return err
	}
	// The fold scores are folds times larger: streamed unit by unit, never held whole.
	err = array.WriteNPYChunks(filepath.Join(dir, "fold_scores.npy"), append([]int{C, L, F}, m.Trailing...), func(emit func([]float64) error) error {
		for _, ck := range m.Checkpoints {
			for _, ly := range m.Layers {
				if err := ctx.Err(); err != nil {
					return err
				}
				f, err := readUnitArray(dir, ck.Name, ly, ".fold_scores.npy", append([]int{F}, m.Trailing...))
				if err != nil {
					return err
				}
				if err := emit(f); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if steps, ok := m.Steps(); ok {
		if err := array.WriteNPY(filepath.Join(dir, "steps.npy"), []int{C}, steps); err != nil {
			return err
		}
	} else if err := removeFile(filepath.Join(dir, "steps.npy")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err // an earlier merge's steps would contradict sweep.json
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "table.csv"), func(w io.Writer) error {
		return writeTable(w, m, meta, scores)
	}); err != nil {
		return err
	}
	if mergeTablesWritten != nil {
		mergeTablesWritten()
	}
	// The units read are those recorded when the merge began only if no record changed
	// meanwhile (a unit scored again loses its record first, and gets a new one after its
	// arrays).
	if again, err := mergeStamp(dir, m); err != nil || again != stamp {
		return fmt.Errorf("%s: %w (another shard scored a unit again, or a run replaced the metadata): "+
			"the tables were written but are not current; the run that changed them merges when it is done "+
			"(or: brainalign sweep --merge-only --out %s once every unit is done)", dir, ErrUnitsChanged, dir)
	}
	// Last, so that a merge killed before its end is done again.
	return writeJSON(filepath.Join(dir, mergedFile), mergeRecord{Stamp: stamp, Units: C * L, Created: time.Now().UTC().Format(time.RFC3339)})
}

// mergeTablesWritten, when set (by tests), is called once a merge has written the tables,
// before it checks that the units did not change meanwhile.
var mergeTablesWritten func()

// mergeRead, when set (by tests), is called once a merge has read the manifest and metadata it
// builds the tables from.
var mergeRead func()

// inputChanged says how the source file recorded in in differs from the file at its path now
// (its size, its modification time), "" when it does not, or when there is nothing to compare:
// no record of the source (in memory, or a record of an earlier version), or no file at its
// path (moved, or deleted once scored).
func inputChanged(in *inputID) string {
	if in == nil || in.Path == "" {
		return ""
	}
	st, err := os.Stat(in.Path)
	if err != nil {
		return ""
	}
	var diff []string
	if st.Size() != in.Size {
		diff = append(diff, fmt.Sprintf("%s: size %d bytes, was %d", in.Path, st.Size(), in.Size))
	}
	if t, err := time.Parse(time.RFC3339Nano, in.MTime); err != nil || !t.Equal(st.ModTime()) {
		diff = append(diff, fmt.Sprintf("%s: modified %s, was %s", in.Path, st.ModTime().UTC().Format(time.RFC3339Nano), in.MTime))
	}
	return strings.Join(diff, "; ")
}

// mergedFile records the last complete merge of a sweep folder, so that a rerun with nothing
// to score does not merge again what has not changed (a merge reads every unit's arrays).
const mergedFile = "merged.json"

type mergeRecord struct {
	Stamp   string `json:"stamp"` // mergeStamp of what was merged
	Units   int    `json:"units"`
	Created string `json:"created"`
}

// mergeStamp hashes what a merge reads besides the units' arrays: sweep.json, the metadata
// files and every unit's record. A unit scored again has a new record (its time), and its
// arrays are written before it.
func mergeStamp(dir string, m *Manifest) (string, error) {
	h := sha256.New()
	add := func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(path), len(b))
		h.Write(b)
		return nil
	}
	if err := add(filepath.Join(dir, "sweep.json")); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(filepath.Join(dir, metaDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	for _, e := range entries { // sorted by name
		if stampedMeta(e) {
			if err := add(filepath.Join(dir, metaDir, e.Name())); err != nil {
				return "", err
			}
		}
	}
	for _, ck := range m.Checkpoints {
		for _, ly := range m.Layers {
			rec := unitBase(dir, ck.Name, ly) + ".json"
			if err := add(rec); errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(h, "%s -1\n", filepath.Base(rec)) // not done: the merge says so
			} else if err != nil {
				return "", err
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// mergeCurrent reports whether dir's tables are those a merge would write now: the last merge
// completed, on the same manifest, metadata and unit records, and its tables are there.
func mergeCurrent(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, mergedFile))
	if err != nil {
		return false
	}
	var rec mergeRecord
	if json.Unmarshal(b, &rec) != nil || rec.Stamp == "" {
		return false
	}
	m, err := readManifestJSON(dir)
	if err != nil {
		return false
	}
	outputs := []string{"scores.npy", "fold_scores.npy", "table.csv"}
	if _, ok := m.Steps(); ok {
		outputs = append(outputs, "steps.npy")
	}
	for _, f := range outputs {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return false
		}
	}
	stamp, err := mergeStamp(dir, m)
	return err == nil && stamp == rec.Stamp
}

// recordsPresent reports whether every unit of the sweep m in dir has a record file, or dir has
// no units folder at all.
func recordsPresent(dir string, m *Manifest) bool {
	if _, err := os.Stat(filepath.Join(dir, "units")); errors.Is(err, fs.ErrNotExist) {
		return true
	}
	for _, ck := range m.Checkpoints {
		entries, err := os.ReadDir(filepath.Join(dir, "units", safeName(ck.Name)))
		if err != nil {
			return false
		}
		have := make(map[string]bool, len(entries))
		for _, e := range entries {
			have[e.Name()] = true
		}
		for _, ly := range m.Layers {
			if !have[safeName(ly)+".json"] {
				return false
			}
		}
	}
	return true
}

// readUnitArray reads one of a unit's arrays for merging. A unit whose values are damaged (its
// header and size passed unitRecordDone) is forgotten: its record is removed, so that the next
// run of the sweep scores it again.
func readUnitArray(dir, ckpt, layer, suffix string, shape []int) ([]float64, error) {
	base := unitBase(dir, ckpt, layer)
	a, err := array.ReadNPY(base + suffix)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if err := checkFloat64(base+suffix, a, shape); err != nil {
		removeFile(filepath.Join(dir, mergedFile))
		removeFile(base + ".json")
		return nil, fmt.Errorf("%v: the unit's record was removed, run the sweep again to score it anew", err)
	}
	return slices.Clone(a.F64), nil
}

// TableColumns are the fixed columns of table.csv; per-ROI means follow as roi_<name>, and with
// a noise ceiling (meta/ceiling.npy) ceiled_mean_score and ceiled_roi_<name>: the mean score over
// the targets with a ceiling divided by their mean ceiling (AlignmentOptions.Ceiled's ratio).
var TableColumns = []string{"model", "subject", "checkpoint", "step", "layer", "layer_index", "relative_depth",
	"mean_score", "median_score", "max_score", "targets"}

func writeTable(w io.Writer, m *Manifest, meta Meta, scores []float64) error {
	cw := csv.NewWriter(w)
	head := append([]string(nil), TableColumns...)
	labels := meta.Labels()
	for _, lab := range labels {
		head = append(head, "roi_"+meta.ROIName(lab)) // as named (csv quotes what needs it): distinct names, distinct columns
	}
	if meta.Ceiling != nil {
		head = append(head, "ceiled_mean_score")
		for _, lab := range labels {
			head = append(head, "ceiled_roi_"+meta.ROIName(lab))
		}
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	L, M := len(m.Layers), m.Targets
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 10, 64) }
	col := map[int]int{}
	for k, lab := range labels {
		col[lab] = k
	}
	for c, ck := range m.Checkpoints {
		step := ""
		if ck.Step != nil {
			step = strconv.FormatFloat(*ck.Step, 'f', -1, 64)
		}
		for l, ly := range m.Layers {
			row := scores[(c*L+l)*M : (c*L+l+1)*M]
			s := append([]float64(nil), row...)
			sort.Float64s(s)
			med := s[len(s)/2]
			if len(s)%2 == 0 {
				med = (s[len(s)/2-1] + s[len(s)/2]) / 2
			}
			rec := []string{m.Model, m.Subject, ck.Name, step, ly, strconv.Itoa(l), f(float64(l) / float64(L-1)),
				f(mean(row)), f(med), f(s[len(s)-1]), strconv.Itoa(M)}
			if len(labels) > 0 {
				sum := make([]float64, len(labels))
				cnt := make([]int, len(labels))
				for t, lab := range meta.ROI {
					if lab >= 0 {
						sum[col[lab]] += row[t]
						cnt[col[lab]]++
					}
				}
				for k := range sum {
					rec = append(rec, f(sum[k]/float64(cnt[k])))
				}
			}
			if meta.Ceiling != nil {
				rec = append(rec, ceiledMeans(row, meta, labels, col, f)...)
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// ceiledMeans are a layer's ceiled means for table.csv: over all targets, then per ROI (labels,
// at the columns col), each the sum of the scores over the sum of the ceilings of the targets
// that have one (NaN when none has, or their ceilings are all 0).
func ceiledMeans(row []float64, meta Meta, labels []int, col map[int]int, f func(float64) string) []string {
	score, ceil := make([]float64, 1+len(labels)), make([]float64, 1+len(labels))
	for t, c := range meta.Ceiling {
		if math.IsNaN(c) {
			continue
		}
		score[0] += row[t]
		ceil[0] += c
		if meta.ROI != nil && meta.ROI[t] >= 0 {
			k := 1 + col[meta.ROI[t]]
			score[k] += row[t]
			ceil[k] += c
		}
	}
	out := make([]string, len(score))
	for k := range score {
		v := math.NaN()
		if ceil[k] > 0 {
			v = score[k] / ceil[k]
		}
		out[k] = f(v)
	}
	return out
}

// Sweep is a merged sweep read back from its directory.
type Sweep struct {
	Dir string
	Manifest
	Meta       Meta
	Scores     []float64 // checkpoints x layers x targets, row-major
	FoldScores []float64 // checkpoints x layers x folds x targets (memory-mapped until Close)
	C, L, M, F int       // checkpoints, layers, targets, folds

	mapped       *array.Array // the mapped scores.npy
	scoresMapped bool         // Scores is the map (false for a Sweep built in memory)
	foldsMapped  *array.Array // the mapped fold_scores.npy (Load, or mapFoldScores)
}

// Load opens a merged sweep: its scores memory-mapped and checked (finite values), its fold
// scores memory-mapped (their values checked where used).
func Load(dir string) (*Sweep, error) { return load(dir, true) }

// OpenScores opens a merged sweep for summaries of a few checkpoints over many sweeps:
// scores.npy is memory-mapped, not read (only the pages used are read, and not checked for
// finite values), and fold_scores.npy is not opened (FoldScores is nil). Scores are unusable
// after Close.
func OpenScores(dir string) (*Sweep, error) { return load(dir, false) }

func load(dir string, full bool) (*Sweep, error) {
	m, err := readManifestJSON(dir)
	if err != nil {
		return nil, err
	}
	s := &Sweep{Dir: dir, Manifest: *m, C: len(m.Checkpoints), L: len(m.Layers), M: m.Targets, F: m.Options.Folds}
	if s.Meta, err = loadMeta(dir); err != nil {
		return nil, err
	}
	if err := s.Meta.Check(filepath.Join(dir, "sweep.json"), m.Trailing); err != nil {
		return nil, fmt.Errorf("%s: metadata does not match the sweep: %v", dir, err)
	}
	sp := filepath.Join(dir, "scores.npy")
	if _, err := os.Stat(sp); err != nil {
		return nil, fmt.Errorf("%s: no scores.npy: %w (when all shards are done: brainalign sweep --merge-only --out %s)", dir, ErrNotMerged, dir)
	}
	// merged.json is removed before any unit is scored again and written last by a merge: without
	// it the tables may hold scores the units no longer have. A merge that overlapped the start
	// of a unit's rescoring can leave merged.json in place with that unit's record gone (a run
	// removes merged.json again before it writes the unit's new record): every record must be
	// there too (one directory listing per checkpoint), unless the folder has no units at all
	// (the tables copied without them, for analysis elsewhere).
	var rec mergeRecord
	if b, err := os.ReadFile(filepath.Join(dir, mergedFile)); err != nil || json.Unmarshal(b, &rec) != nil || rec.Units != s.C*s.L ||
		!recordsPresent(dir, m) {
		return nil, fmt.Errorf("%s: its tables are older than its units (units scored again, or a run or merge that stopped): %w; run the sweep again to finish it (brainalign sweep --merge-only --out %s when all its shards are done)", dir, ErrNotMerged, dir)
	}
	shape := append([]int{s.C, s.L}, m.Trailing...)
	// Both tables stay memory-mapped, never copied to the heap: at the study's scale (20
	// checkpoints x 40 layers x 327,684 vertices) scores.npy is 2.1 GB and fold_scores.npy 10.5
	// GB per subject, and a command reads one checkpoint of them for eight subjects.
	sa, err := array.ReadNPY(sp)
	if err != nil {
		return nil, err
	}
	if err := checkLayout(sp, sa, shape); err != nil {
		sa.Close()
		return nil, err
	}
	s.Scores, s.mapped, s.scoresMapped = sa.F64, sa, true
	if !full {
		return s, nil
	}
	if err := checkFiniteFile(sp, s.Scores); err != nil {
		s.Close()
		return nil, err
	}
	// The fold scores' values are checked where they are used (one checkpoint's, by the
	// significance mask, which names a non-finite one): reading all of them here
	// would read 10.5 GB to use 0.5.
	if err := s.mapFoldScores(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the memory maps of the scores and fold scores; those are unusable after. A
// sweep not closed keeps its maps until the process ends.
func (s *Sweep) Close() error {
	var err error
	if s.foldsMapped != nil {
		err = s.foldsMapped.Close()
		s.foldsMapped, s.FoldScores = nil, nil
	}
	if s.mapped == nil {
		return err
	}
	if s.scoresMapped {
		s.Scores = nil
	}
	s.FoldScores = nil
	if cerr := s.mapped.Close(); err == nil {
		err = cerr
	}
	s.mapped = nil
	return err
}

// mapFoldScores maps fold_scores.npy into FoldScores for a sweep opened with OpenScores
// (checked for shape and dtype, not read: only the pages used are).
func (s *Sweep) mapFoldScores() error {
	if s.FoldScores != nil {
		return nil
	}
	fp := filepath.Join(s.Dir, "fold_scores.npy")
	fa, err := array.ReadNPY(fp)
	if err != nil {
		return err
	}
	if err := checkLayout(fp, fa, append([]int{s.C, s.L, s.F}, s.Trailing...)); err != nil {
		fa.Close()
		return err
	}
	s.FoldScores, s.foldsMapped = fa.F64, fa
	return nil
}

// Name is the sweep's label in reports: its subject, else its folder.
func (s *Sweep) Name() string {
	if s.Subject != "" {
		return s.Subject
	}
	return filepath.Base(filepath.Clean(s.Dir))
}

// At returns the layers x targets scores of checkpoint c (aliasing Scores).
func (s *Sweep) At(c int) []float64 { return s.Scores[c*s.L*s.M : (c+1)*s.L*s.M] }

// CheckpointIndex resolves a checkpoint by name, by index ("0", "-1" is the last), or "" (the
// last).
func (s *Sweep) CheckpointIndex(name string) (int, error) {
	if name == "" || name == "last" {
		return s.C - 1, nil
	}
	for i, c := range s.Checkpoints {
		if c.Name == name {
			return i, nil
		}
	}
	if i, err := strconv.Atoi(name); err == nil {
		if i < 0 {
			i += s.C
		}
		if i >= 0 && i < s.C {
			return i, nil
		}
	}
	var names []string
	for _, c := range s.Checkpoints {
		names = append(names, c.Name)
	}
	return 0, fmt.Errorf("%s: no checkpoint %q (have %v)", s.Dir, name, names)
}
