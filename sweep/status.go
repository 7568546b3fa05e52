package sweep

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/brainalign/brainalign/internal/atomicfile"
)

// Status is how far a sweep folder has come, read from its files alone (sweep.json, the unit
// records and the arrays' headers; no activations, no brain data): for watching a job array
// from a login node.
type Status struct {
	Dir      string
	Manifest *Manifest
	Units    int  // in the whole sweep
	Done     int  // units whose record and arrays are complete (as recorded: their activations are not looked at)
	Merged   bool // the tables are there
	Current  bool // and hold every unit as it is now (merged.json)
	// Missing are the units not done, as "checkpoint/layer" in the sweep's order (ReadStatus
	// only).
	Missing []string
	// Timed are the engines that scored the done units, with their mean time per unit.
	Timed []EngineTime
	// Recent is the rate of the latest units (up to 50), from their records' times: units
	// finished per second over all shards, 0 with fewer than 2 or all in one second.
	Recent     float64
	RecentSpan time.Duration // the time those units took
	RecentN    int
	Last       time.Time // when the newest unit was finished (zero: none)
	// Temp are the temp files in the folder and below: those of live writers (a shard writing a
	// unit, a merge writing the tables), and those of killed ones (Abandoned: the next run or
	// merge removes them; a killed merge's are as large as fold_scores.npy).
	Temp []atomicfile.Temp
	// Lock is the merge lock: a merge in progress, or left by a killed merge (Abandoned); nil
	// when none.
	Lock *MergeLock
	// Parts are the files the targets were joined from (meta/parts.txt: hemispheres), nil for
	// targets of one file; Channels the MEG channels' names (meta/channels.txt, kept from epochs
	// files), nil where unknown.
	Parts    []TargetPart
	Channels []string
	// MetaErr says why meta/parts.txt or meta/channels.txt could not be read ("" when read).
	MetaErr string
}

// ReadStatus reads the status of the sweep in dir.
func ReadStatus(dir string) (*Status, error) {
	m, err := readManifestJSON(dir)
	if err != nil {
		return nil, err
	}
	st := &Status{Dir: dir, Manifest: m, Units: len(m.Checkpoints) * len(m.Layers)}
	var times []time.Time
	timed := timeTally{}
	for _, ck := range m.Checkpoints {
		for _, ly := range m.Layers {
			w := manifestWant(m, ck.Name, ly)
			w.legacy = true // as recorded: a record of an earlier version counts
			rec, err := unitRecordDone(unitBase(dir, ck.Name, ly), w)
			if err != nil {
				st.Missing = append(st.Missing, ck.Name+"/"+ly)
				continue
			}
			st.Done++
			if t, err := time.Parse(time.RFC3339, rec.Created); err == nil {
				times = append(times, t)
			}
			timed.add(rec)
		}
	}
	st.Timed = timed.list()
	if len(times) > 0 {
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		st.Last = times[len(times)-1]
		recent := times[max(0, len(times)-50):]
		st.RecentN = len(recent)
		st.RecentSpan = recent[len(recent)-1].Sub(recent[0])
		if len(recent) > 1 && st.RecentSpan > 0 {
			st.Recent = float64(len(recent)-1) / st.RecentSpan.Seconds()
		}
	}
	st.Merged = fileExists(filepath.Join(dir, "scores.npy")) && fileExists(filepath.Join(dir, "table.csv"))
	st.Current = st.Merged && mergeCurrent(dir)
	st.Temp = atomicfile.ListTemp(dir, true)
	st.Lock = ReadMergeLock(dir)
	st.Parts, st.Channels, err = readPartsChannels(dir)
	if err != nil {
		st.MetaErr = err.Error()
	}
	return st, nil
}

// readPartsChannels reads a sweep's parts and MEG channels, the two small metadata files that say
// which subjects can be pooled with it, without its other metadata.
func readPartsChannels(dir string) ([]TargetPart, []string, error) {
	md := filepath.Join(dir, metaDir)
	var parts []TargetPart
	if p := filepath.Join(md, partsFile); fileExists(p) {
		var err error
		if parts, err = readParts(p); err != nil {
			return nil, nil, err
		}
	}
	channels, err := readChannels(filepath.Join(md, channelsFile))
	return parts, channels, err
}

// ReadStatusQuick is ReadStatus for listing many sweeps: units count as done when their record
// file exists (none is read, nor are the arrays checked), and the tables as merged and current
// when merged.json records a merge of every unit (the records are not hashed again). No times.
func ReadStatusQuick(dir string) (*Status, error) {
	m, err := readManifestJSON(dir)
	if err != nil {
		return nil, err
	}
	st := &Status{Dir: dir, Manifest: m, Units: len(m.Checkpoints) * len(m.Layers)}
	for _, ck := range m.Checkpoints {
		entries, err := os.ReadDir(filepath.Join(dir, "units", safeName(ck.Name)))
		if err != nil {
			continue
		}
		have := map[string]bool{}
		for _, e := range entries {
			have[e.Name()] = true
		}
		for _, ly := range m.Layers {
			if have[safeName(ly)+".json"] {
				st.Done++
			}
		}
	}
	st.Merged = fileExists(filepath.Join(dir, "scores.npy")) && fileExists(filepath.Join(dir, "table.csv"))
	if b, err := os.ReadFile(filepath.Join(dir, mergedFile)); err == nil && st.Merged {
		var rec mergeRecord
		st.Current = json.Unmarshal(b, &rec) == nil && rec.Units == st.Units && st.Done == st.Units
	}
	return st, nil
}
