package sweep

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brainalign/brainalign/array"
)

// A restarted sweep reuses a finished unit only if its activations are still the ones it was
// scored from: activations re-extracted into the same files (other data, even another number of
// features) must not leave old scores in the tables. Hashing every layer on each restart would
// read the whole model again, so a unit's record keeps the identity of its source as it was read
// (absolute path, member, the file's size and modification time, the array's shape and dtype),
// and a restart compares that with the file as it is now: a stat per file, and the array's shape
// from Discover (bundles) or from the .npy header (a few hundred bytes).

// arrayInfo is an array's shape and dtype, as stored.
type arrayInfo struct {
	shape []int
	dtype string
}

// inputID identifies the activations a unit was scored from.
type inputID struct {
	Path   string `json:"path"`             // absolute, links resolved
	Member string `json:"member,omitempty"` // array inside a bundle
	Size   int64  `json:"size"`             // bytes of the file (the whole bundle for a member)
	MTime  string `json:"mtime"`            // the file's modification time, RFC 3339, UTC
	Shape  []int  `json:"shape"`            // the array as stored (before Config.Prepare)
	DType  string `json:"dtype"`
	// Sample hashes the file's first and last 64 KiB: a file found at another path (the folder
	// moved) is the same source only if its size, time and sample match.
	Sample string `json:"sample,omitempty"`
}

// sampleFile hashes a file's first and last 64 KiB (all of a smaller file).
func sampleFile(path string, size int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	const chunk = 64 << 10
	h := sha256.New()
	if _, err := io.CopyN(h, f, min(size, chunk)); err != nil {
		return "", err
	}
	if size > chunk {
		if _, err := f.Seek(max(chunk, size-chunk), io.SeekStart); err != nil {
			return "", err
		}
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// fileState is what a stat of a source file says.
type fileState struct {
	path  string // absolute
	size  int64
	mtime time.Time
}

// statFile returns the state of a source file. Its path is made absolute, and symbolic links
// are resolved, so that the same file named from another folder or through a link is the same
// source.
func statFile(path string) (fileState, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fileState{}, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	st, err := os.Stat(abs)
	if err != nil {
		return fileState{}, fmt.Errorf("%s: %v", path, errors.Unwrap(err))
	}
	return fileState{path: abs, size: st.Size(), mtime: st.ModTime()}, nil
}

func (f fileState) id(member string, a arrayInfo) *inputID {
	sample, _ := sampleFile(f.path, f.size) // "" if unreadable: then a moved file is not recognised
	return &inputID{Path: f.path, Member: member, Size: f.size, MTime: f.mtime.UTC().Format(time.RFC3339Nano),
		Shape: slices.Clone(a.shape), DType: a.dtype, Sample: sample}
}

// sourceChecker compares units' records with their sources as they are now, reading each
// file's state and each bundle's arrays at most once.
type sourceChecker struct {
	stats   map[string]fileState
	statErr map[string]error
	bundles map[string]map[string]*arrayInfo
}

func newSourceChecker() *sourceChecker {
	return &sourceChecker{stats: map[string]fileState{}, statErr: map[string]error{}, bundles: map[string]map[string]*arrayInfo{}}
}

func (sc *sourceChecker) stat(path string) (fileState, error) {
	if st, ok := sc.stats[path]; ok {
		return st, nil
	}
	if err, ok := sc.statErr[path]; ok {
		return fileState{}, err
	}
	st, err := statFile(path)
	if err != nil {
		sc.statErr[path] = err
		return fileState{}, err
	}
	sc.stats[path] = st
	return st, nil
}

// info returns the shape and dtype of s's array without reading its data, or nil when they
// cannot be found cheaply.
func (sc *sourceChecker) info(s Source) *arrayInfo {
	if s.info != nil {
		return s.info
	}
	if s.Member == "" && isNPY(s.Path) {
		a, err := npyInfo(s.Path)
		if err != nil {
			return nil // unreadable: the unit's record stands until the file is read
		}
		return a
	}
	if !isBundle(s.Path) {
		return nil
	}
	m, ok := sc.bundles[s.Path]
	if !ok { // a bundle named by a manifest: its arrays' headers are read once
		m = map[string]*arrayInfo{}
		if f, err := array.Open(s.Path); err == nil {
			for _, e := range f.Arrays() {
				if e.Err == nil {
					m[e.Name] = &arrayInfo{shape: slices.Clone(e.Shape), dtype: e.DType}
				}
			}
			f.Close()
		}
		sc.bundles[s.Path] = m
	}
	return m[s.Member]
}

// sameSample reports whether the file's sampled content is the recorded one (never for a record
// without a sample).
func (sc *sourceChecker) sameSample(st fileState, sample string) bool {
	if sample == "" {
		return false
	}
	got, err := sampleFile(st.path, st.size)
	return err == nil && got == sample
}

// changed says how s differs from the source recorded in rec, or "" when it does not. Sources
// built in memory are not checked. A record written before sources were recorded (no "input")
// is checked by its feature count only. unchecked is the error of a source that cannot be
// looked at now (deleted, a file system failing): that says nothing of its activations, so the
// unit is not known done, but its record stands.
func (sc *sourceChecker) changed(s Source, rec *unitRecord) (changed string, unchecked error) {
	if s.Func != nil {
		return "", nil
	}
	st, err := sc.stat(s.Path)
	if err != nil {
		return "", err
	}
	cur := sc.info(s)
	old := rec.Input
	if old == nil {
		if cur != nil && len(cur.shape) == 2 && cur.shape[1] != rec.Features {
			return fmt.Sprintf("activations changed since it was scored (%d features, was %d)", cur.shape[1], rec.Features), nil
		}
		return "", nil
	}
	var diff []string
	t, terr := time.Parse(time.RFC3339Nano, old.MTime)
	sameFile := old.Size == st.size && terr == nil && t.Equal(st.mtime)
	switch {
	case old.Member != s.Member:
		diff = append(diff, fmt.Sprintf("array %q, was %q", s.Member, old.Member))
	case old.Path != st.path && !(sameFile && sc.sameSample(st, old.Sample)):
		// A folder moved or copied with its times (mv, cp -a, rsync -a), or reached by another
		// real path, keeps its units: the same size, modification time and sampled content.
		// Another model's files can share size and time (an unpacked archive), not content.
		diff = append(diff, "read from "+st.path+", was "+old.Path+", a different file")
	default:
		if old.Size != st.size {
			diff = append(diff, fmt.Sprintf("size %d bytes, was %d", st.size, old.Size))
		}
		if !sameFile && (terr != nil || !t.Equal(st.mtime)) {
			diff = append(diff, fmt.Sprintf("modified %s, was %s", st.mtime.UTC().Format(time.RFC3339Nano), old.MTime))
		}
	}
	if cur != nil && !slices.Equal(cur.shape, old.Shape) {
		diff = append(diff, fmt.Sprintf("shape %v, was %v", cur.shape, old.Shape))
	}
	if cur != nil && cur.dtype != "" && old.DType != "" && cur.dtype != old.DType {
		diff = append(diff, fmt.Sprintf("dtype %s, was %s", cur.dtype, old.DType))
	}
	if len(diff) == 0 {
		return "", nil
	}
	return "activations changed since it was scored (" + strings.Join(diff, "; ") + ")", nil
}

var (
	npyShapeRE = regexp.MustCompile(`['"]shape['"]\s*:\s*\(([^)]*)\)`)
	npyDescrRE = regexp.MustCompile(`['"]descr['"]\s*:\s*['"]([^'"]*)['"]`)
	npyDTypes  = map[string]string{
		"f2": "float16", "f4": "float32", "f8": "float64",
		"i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
		"u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64",
		"b1": "bool", "?": "bool",
	}
)

// npyInfo reads the shape and dtype from a .npy header (names as package array gives them).
func npyInfo(path string) (*arrayInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pre [12]byte
	if _, err := io.ReadFull(f, pre[:10]); err != nil || string(pre[:6]) != "\x93NUMPY" {
		return nil, fmt.Errorf("%s: not a .npy file", path)
	}
	var hlen int
	switch pre[6] {
	case 1:
		hlen = int(binary.LittleEndian.Uint16(pre[8:]))
	case 2, 3:
		if _, err := io.ReadFull(f, pre[10:12]); err != nil {
			return nil, err
		}
		hlen = int(binary.LittleEndian.Uint32(pre[8:]))
	default:
		return nil, fmt.Errorf("%s: unknown .npy version %d", path, pre[6])
	}
	if hlen > 1<<20 {
		return nil, fmt.Errorf("%s: implausible .npy header length %d", path, hlen)
	}
	head := make([]byte, hlen)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, err
	}
	sm, dm := npyShapeRE.FindSubmatch(head), npyDescrRE.FindSubmatch(head)
	if sm == nil || dm == nil {
		return nil, fmt.Errorf("%s: .npy header without shape or descr", path)
	}
	a := &arrayInfo{shape: []int{}}
	for _, d := range strings.Split(string(sm[1]), ",") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		v, err := strconv.Atoi(d)
		if err != nil {
			return nil, fmt.Errorf("%s: .npy shape (%s)", path, sm[1])
		}
		a.shape = append(a.shape, v)
	}
	a.dtype = npyDTypes[strings.TrimLeft(string(dm[1]), "<>|=")] // "" when not known here
	return a, nil
}
