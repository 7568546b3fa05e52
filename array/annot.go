package array

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// FreeSurfer annotation files (lh.aparc.annot, lh.HCP_MMP1.annot: one hemisphere's parcellation,
// such as fsaverage's, NSD's surface ROIs) read as ROI labels: each vertex's label is the index
// of its colour table entry, as nibabel.freesurfer.read_annot gives it, and the entries' names
// name the labels (Annot). A vertex whose annotation value is 0 is no ROI (-1), as in nibabel;
// so is one whose value is no entry's colour, where nibabel returns a neighbouring entry
// (np.searchsorted finds no match) and FreeSurfer's CTABfindAnnotation -1. Unlike nibabel, which
// takes the values in file order, each value goes to the vertex the file pairs it with, as
// FreeSurfer's MRISreadAnnotation places them.

// Annot is a FreeSurfer annotation's labels and names.
type Annot struct {
	Labels []int          // per vertex: its colour table entry's index; -1 for none
	Names  map[int]string // entry index -> the entry's name (every entry of the table)
}

// IsAnnot reports whether path names a FreeSurfer annotation file, by its extension (.annot).
func IsAnnot(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".annot") }

// ReadAnnot reads a FreeSurfer annotation file.
func ReadAnnot(path string) (*Annot, error) {
	m, err := openData(path)
	if err != nil {
		return nil, err
	}
	defer m.release()
	a, err := parseAnnot(m.data)
	if err != nil {
		return nil, fmt.Errorf("%s: FreeSurfer annotation: %v", path, err)
	}
	return a, nil
}

// openAnnot opens a FreeSurfer annotation held in buf: one array, its vertices' labels (int64).
func openAnnot(name string, buf []byte, m *mapping) (*File, error) {
	a, err := parseAnnot(buf)
	if err != nil {
		return nil, fmt.Errorf("%s: FreeSurfer annotation: %v", name, err)
	}
	f := newFile(name, buf, m)
	f.npy = true // one array, named after the path
	n := len(a.Labels)
	e := &Entry{Name: name, Shape: []int{n}, DType: "int64", label: name}
	e.read = func(*File, *Entry) (*Array, error) {
		labels := make([]int64, n)
		for i, l := range a.Labels {
			labels[i] = int64(l)
		}
		return &Array{Name: name, Shape: []int{n}, DType: "int64", I64: labels}, nil
	}
	f.arrays = []*Entry{e}
	f.byName[name] = e
	return f, nil
}

// annotReader reads an annotation's big-endian int32s and strings, saying what was cut short.
type annotReader struct {
	buf []byte
	off int
}

func (r *annotReader) int32(what string) (int, error) {
	if len(r.buf)-r.off < 4 {
		return 0, fmt.Errorf("truncated: the file ends (%d bytes) before %s", len(r.buf), what)
	}
	v := int(int32(binary.BigEndian.Uint32(r.buf[r.off:])))
	r.off += 4
	return v, nil
}

// str reads a length, then that many bytes (FreeSurfer writes a C string, its NUL counted).
func (r *annotReader) str(what string) (string, error) {
	n, err := r.int32("the length of " + what)
	if err != nil {
		return "", err
	}
	if n < 0 || n > len(r.buf)-r.off {
		return "", fmt.Errorf("truncated or corrupt: %s of %d bytes at byte %d of %d", what, n, r.off, len(r.buf))
	}
	s := string(r.buf[r.off : r.off+n])
	r.off += n
	return strings.TrimRight(s, "\x00"), nil // as numpy's bytes dtype, which nibabel reads them into
}

// annotEntry is one colour table entry.
type annotEntry struct {
	index int
	name  string
	rgb   int // R + G<<8 + B<<16, the annotation value of its vertices
}

// parseAnnot reads an annotation: the number of vertices, (vertex, annotation value) pairs, then
// tag 1 and a colour table, new format (-2, the table's size, the original table's name, the
// number of entries, then index, name, R, G, B, transparency per entry) or old (the number of
// entries, the original table's name, then name, R, G, B, transparency per entry, indexed in
// order).
func parseAnnot(buf []byte) (*Annot, error) {
	r := &annotReader{buf: buf}
	nv, err := r.int32("the number of vertices")
	if err != nil {
		return nil, err
	}
	if nv < 1 || nv > (len(buf)-4)/8 {
		return nil, fmt.Errorf("%d vertices in %d bytes: truncated or corrupt (each vertex takes 8 bytes)", nv, len(buf))
	}
	values := make([]int, nv)
	seen := make([]bool, nv)
	for i := range nv {
		v, _ := r.int32("") // the bytes are there: checked above
		val, _ := r.int32("")
		if v < 0 || v >= nv {
			return nil, fmt.Errorf("pair %d names vertex %d, out of range for %d vertices", i, v, nv)
		}
		if seen[v] {
			return nil, fmt.Errorf("vertex %d annotated twice (pair %d)", v, i)
		}
		seen[v] = true
		values[v] = val
	}
	if r.off == len(buf) {
		return nil, fmt.Errorf("no colour table (the file ends after its %d vertices): its labels have no names", nv)
	}
	tag, err := r.int32("the colour table's tag")
	if err != nil {
		return nil, err
	}
	if tag != 1 {
		return nil, fmt.Errorf("no colour table (tag %d after the vertices, want 1): its labels have no names", tag)
	}
	n, err := r.int32("the colour table")
	if err != nil {
		return nil, err
	}
	var entries []annotEntry
	switch {
	case n > 0: // old format: n entries, indexed in order
		if entries, err = annotEntries(r, n, n, false); err != nil {
			return nil, err
		}
	case n == -2:
		size, err := r.int32("the colour table's size")
		if err != nil {
			return nil, err
		}
		if size < 1 {
			return nil, fmt.Errorf("colour table of size %d", size)
		}
		if _, err := r.str("the colour table's original file name"); err != nil {
			return nil, err
		}
		count, err := r.int32("the number of colour table entries")
		if err != nil {
			return nil, err
		}
		if entries, err = annotEntries(r, count, size, true); err != nil {
			return nil, err
		}
	case n == 0:
		return nil, fmt.Errorf("empty colour table")
	default:
		return nil, fmt.Errorf("colour table of version %d: only versions 1 (old) and 2 (new) are known", -n)
	}
	a := &Annot{Labels: make([]int, nv), Names: map[int]string{}}
	byRGB := map[int]int{} // annotation value -> entry (position in entries)
	for i, e := range entries {
		if prev, dup := a.Names[e.index]; dup {
			return nil, fmt.Errorf("colour table index %d twice (%q and %q)", e.index, prev, e.name)
		}
		a.Names[e.index] = e.name
		if j, dup := byRGB[e.rgb]; dup {
			if j >= 0 {
				byRGB[e.rgb] = -1 - j // ambiguous: an error if a vertex carries it
			}
			continue
		}
		byRGB[e.rgb] = i
	}
	for v, val := range values {
		j, ok := byRGB[val]
		switch {
		case val == 0 || !ok: // nibabel's unlabelled value; a colour of no entry
			a.Labels[v] = -1
		case j < 0:
			k := -1 - j
			return nil, fmt.Errorf("vertex %d's annotation value %d is the colour of entries %d (%q) and more: which ROI it is is ambiguous",
				v, val, entries[k].index, entries[k].name)
		default:
			a.Labels[v] = entries[j].index
		}
	}
	return a, nil
}

// annotEntries reads count colour table entries of a table of size indices; newFormat entries
// carry their index, old ones are indexed in order.
func annotEntries(r *annotReader, count, size int, newFormat bool) ([]annotEntry, error) {
	if !newFormat {
		if _, err := r.str("the colour table's original file name"); err != nil {
			return nil, err
		}
	}
	const minEntry = 5 * 4 // a name's length and four colour components
	if count < 1 || count > (len(r.buf)-r.off)/minEntry {
		return nil, fmt.Errorf("%d colour table entries in %d bytes: truncated or corrupt", count, len(r.buf)-r.off)
	}
	entries := make([]annotEntry, count)
	for i := range entries {
		e := &entries[i]
		e.index = i
		what := fmt.Sprintf("colour table entry %d", i)
		if newFormat {
			idx, err := r.int32(what)
			if err != nil {
				return nil, err
			}
			if idx < 0 || idx >= size {
				return nil, fmt.Errorf("%s has index %d, outside the table's %d", what, idx, size)
			}
			e.index = idx
		}
		name, err := r.str("the name of " + what)
		if err != nil {
			return nil, err
		}
		if name == "" {
			return nil, fmt.Errorf("%s (index %d) has no name", what, e.index)
		}
		e.name = name
		var rgbt [4]int
		for k := range rgbt {
			if rgbt[k], err = r.int32("the colour of " + what); err != nil {
				return nil, err
			}
			if rgbt[k] < 0 || rgbt[k] > 255 {
				return nil, fmt.Errorf("%s (%q) has colour component %d, outside 0 to 255", what, name, rgbt[k])
			}
		}
		e.rgb = rgbt[0] + rgbt[1]<<8 + rgbt[2]<<16
	}
	return entries, nil
}
