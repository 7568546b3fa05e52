package array

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// MNE-Python's epochs files (-epo.fif, _epo.fif, and any .fif or .fif.gz holding epochs), the
// format MEG data such as THINGS-MEG come in, read as epochs x channels x times in physical units
// (T, T/m, V), as mne.read_epochs(path).get_data() gives them: float32 for data stored in single
// precision (MNE's default), float64 for fmt="double". MNE stores each channel's values divided
// by its calibration (the channel info's cal; the extended channel information's, when there is
// one) and multiplies them back on reading, in double precision: so is it done here, a float32
// result being MNE's value rounded once. Files over 2 GB are split by MNE into parts that each
// name the next (...-epo.fif, ...-epo-1.fif, ...: a FIFFB_REF block with the next file's name, or
// only its number, resolved as MNE does); the parts are read one after another as one array.
//
// A FIF file is a sequence of tags (kind, type, size, next, all big-endian int32, then the data)
// nested in blocks by FIFF_BLOCK_START and FIFF_BLOCK_END tags. The tags are scanned in order
// (MNE's directory, when a file has one, is not needed). Refused with a one-line error: raw
// (continuous) and evoked files, complex data and data types other than float and double, files
// cut short, a missing split part, and SSP projectors stored inactive (mne.read_epochs applies
// them on reading, which is not done here; projectors already applied are fine: MNE applies them
// again, which changes the values only by rounding). EpochsInfo (FIFInfo) gives the epochs' time
// axis and channel names.

// FIF tag kinds, block kinds and data types (MNE's mne/io/constants.py).
const (
	fiffFileID         = 100
	fiffBlockStart     = 104
	fiffBlockEnd       = 105
	fiffRefRole        = 115
	fiffRefFileNum     = 117
	fiffRefFileName    = 118
	fiffNChan          = 200
	fiffSFreq          = 201
	fiffChInfo         = 203
	fiffFirstSample    = 208
	fiffLastSample     = 209
	fiffChCal          = 254
	fiffChDacqName     = 258
	fiffEpoch          = 302
	fiffProjItemActive = 3560

	fiffbMeasInfo     = 101
	fiffbRawData      = 102
	fiffbEvoked       = 104
	fiffbContinuous   = 112
	fiffbChInfo       = 113
	fiffbRef          = 118
	fiffbIASRawData   = 119
	fiffbEpochsOld    = 122 // MNE before 0.11
	fiffbProj         = 313
	fiffbProjItem     = 314
	fiffbEpochs       = 373
	fiffvRoleNextFile = 2

	fifftInt           = 3
	fifftFloat         = 4
	fifftDouble        = 5
	fifftString        = 10
	fifftComplexFloat  = 20
	fifftComplexDouble = 21
	fifftChInfoStruct  = 30
	fifftIDStruct      = 31
	fifftMatrixDense   = 0x40000000 // the coding in the type's upper 16 bits: a dense matrix
)

// IsFIF reports whether path names a FIF file (.fif, .fif.gz), by extension.
func IsFIF(path string) bool {
	p := strings.ToLower(path)
	return strings.HasSuffix(p, ".fif") || strings.HasSuffix(p, ".fif.gz")
}

// fifTag is a tag's kind and type and where its data lie in the file.
type fifTag struct {
	kind, typ int32
	off, size int // the data, after the 16-byte header
}

// fifBlock is a block of tags: its own tags and the blocks nested in it, in file order.
type fifBlock struct {
	kind   int32
	tags   []fifTag
	blocks []*fifBlock
}

// find returns the blocks of a kind nested in b, at any depth, in file order (MNE's dir_tree_find).
func (b *fifBlock) find(kind int32) []*fifBlock {
	var out []*fifBlock
	b.findInto(kind, &out)
	return out
}

// findInto appends to out the blocks of a kind nested in b: one slice for the whole walk, so that
// the search is linear in the number of blocks (appending each level's results to its parent's
// was quadratic in the depth). parseFIF bounds the depth, and so the recursion.
func (b *fifBlock) findInto(kind int32, out *[]*fifBlock) {
	for _, c := range b.blocks {
		if c.kind == kind {
			*out = append(*out, c)
		}
		c.findInto(kind, out)
	}
}

// fifMaxDepth bounds the nesting of blocks: MNE's files nest about 6 deep; a corrupt or crafted
// file nested millions deep would otherwise take hours to search or overflow the stack.
const fifMaxDepth = 64

// tag returns b's first own tag of a kind.
func (b *fifBlock) tag(kind int32) (fifTag, bool) {
	for _, t := range b.tags {
		if t.kind == kind {
			return t, true
		}
	}
	return fifTag{}, false
}

// parseFIF reads the tag structure of a FIF file held in buf.
func parseFIF(buf []byte) (*fifBlock, error) {
	be := binary.BigEndian
	if len(buf) < 16+20 || int32(be.Uint32(buf)) != fiffFileID || int32(be.Uint32(buf[4:])) != fifftIDStruct || be.Uint32(buf[8:]) != 20 {
		return nil, errors.New("not a FIF file (it does not start with a file id tag)")
	}
	root := &fifBlock{}
	stack := []*fifBlock{root}
	pos := 0
	for pos < len(buf) {
		if pos+16 > len(buf) {
			return nil, fmt.Errorf("truncated: a tag at offset %d, the file ends %d bytes into its header", pos, len(buf)-pos)
		}
		kind, typ := int32(be.Uint32(buf[pos:])), int32(be.Uint32(buf[pos+4:]))
		size, next := int(int32(be.Uint32(buf[pos+8:]))), int(int32(be.Uint32(buf[pos+12:])))
		if size < 0 {
			return nil, fmt.Errorf("corrupt: tag %d at offset %d has size %d", kind, pos, size)
		}
		if size > len(buf)-pos-16 {
			return nil, fmt.Errorf("truncated: %s at offset %d declares %d bytes, the file has %d after its header", fifKindName(kind), pos, size, len(buf)-pos-16)
		}
		t := fifTag{kind: kind, typ: typ, off: pos + 16, size: size}
		cur := stack[len(stack)-1]
		switch kind {
		case fiffBlockStart, fiffBlockEnd:
			if size != 4 {
				return nil, fmt.Errorf("corrupt: block tag at offset %d has size %d, want 4", pos, size)
			}
			if kind == fiffBlockStart {
				if len(stack) > fifMaxDepth {
					return nil, fmt.Errorf("corrupt: blocks nested over %d deep at offset %d", fifMaxDepth, pos)
				}
				b := &fifBlock{kind: int32(be.Uint32(buf[t.off:]))}
				cur.blocks = append(cur.blocks, b)
				stack = append(stack, b)
			} else if len(stack) == 1 {
				return nil, fmt.Errorf("corrupt: a block ends at offset %d that did not start", pos)
			} else {
				stack = stack[:len(stack)-1]
			}
		default:
			cur.tags = append(cur.tags, t)
		}
		switch {
		case next == 0: // the next tag follows
			pos += 16 + size
		case next < 0: // the last tag
			pos = len(buf) + 1
		case next <= pos:
			return nil, fmt.Errorf("corrupt: tag %d at offset %d points back to offset %d", kind, pos, next)
		default:
			pos = next
		}
	}
	if len(stack) > 1 {
		// a file cut at a tag's end: its blocks (the measurement, the epochs) never end
		return nil, fmt.Errorf("truncated: the file ends inside %d blocks (block %d)", len(stack)-1, stack[len(stack)-1].kind)
	}
	return root, nil
}

// fifPart is one file of an epochs series, as read from its tags.
type fifPart struct {
	path    string
	nchan   int
	sfreq   float64
	names   []string
	cals    []float64
	first   int // the first sample of each epoch, relative to its event
	times   int
	epochs  int
	double  bool   // stored as float64
	dataOff int    // where the data start
	next    string // the next part's path, "" for the last part
}

// parseFIFPart reads the epochs of a FIF file held in buf: the measurement info, the data tag's
// shape and type, and the next part's name.
func parseFIFPart(path string, buf []byte) (*fifPart, error) {
	root, err := parseFIF(buf)
	if err != nil {
		return nil, err
	}
	be := binary.BigEndian
	epochsBlocks := root.find(fiffbEpochs)
	if len(epochsBlocks) == 0 {
		epochsBlocks = root.find(fiffbEpochsOld)
	}
	if len(epochsBlocks) == 0 {
		switch {
		case len(root.find(fiffbRawData)) > 0 || len(root.find(fiffbContinuous)) > 0 || len(root.find(fiffbIASRawData)) > 0:
			return nil, errors.New("raw (continuous) data, not epochs: cut it into epochs with MNE (mne.Epochs) and save them (epochs.save(\"...-epo.fif\"))")
		case len(root.find(fiffbEvoked)) > 0:
			return nil, errors.New("evoked (averaged) data, not epochs: give the epochs file (-epo.fif)")
		}
		return nil, errors.New("no epochs in this FIF file (no MNE epochs block)")
	}
	infos := root.find(fiffbMeasInfo)
	if len(infos) == 0 {
		return nil, errors.New("corrupt: no measurement info block")
	}
	info := infos[0]
	p := &fifPart{path: path}
	tagInt := func(t fifTag, what string) (int, error) {
		if t.typ != fifftInt || t.size < 4 {
			return 0, fmt.Errorf("corrupt: %s is a tag of type %d and %d bytes, want an int", what, t.typ, t.size)
		}
		return int(int32(be.Uint32(buf[t.off:]))), nil
	}
	tagFloat := func(t fifTag, what string) (float64, error) {
		switch {
		case t.typ == fifftFloat && t.size >= 4:
			return float64(math.Float32frombits(be.Uint32(buf[t.off:]))), nil
		case t.typ == fifftDouble && t.size >= 8:
			return math.Float64frombits(be.Uint64(buf[t.off:])), nil
		}
		return 0, fmt.Errorf("corrupt: %s is a tag of type %d and %d bytes, want a float", what, t.typ, t.size)
	}
	// the measurement info's own tags (nested blocks, HPI measurements, have their own NCHAN)
	nchan, sfreq := -1, math.NaN()
	for _, t := range info.tags {
		switch t.kind {
		case fiffNChan:
			if nchan, err = tagInt(t, "the number of channels"); err != nil {
				return nil, err
			}
		case fiffSFreq:
			if sfreq, err = tagFloat(t, "the sampling frequency"); err != nil {
				return nil, err
			}
		case fiffChInfo:
			// scanno, logno, kind, range, cal, coil_type, loc[12], unit, unit_mul (4 bytes
			// each), then the name in 16 bytes, NUL-padded
			if t.typ != fifftChInfoStruct || t.size < 96 {
				return nil, fmt.Errorf("corrupt: channel info of type %d and %d bytes, want 96", t.typ, t.size)
			}
			d := buf[t.off : t.off+96]
			p.cals = append(p.cals, float64(math.Float32frombits(be.Uint32(d[16:]))))
			name := d[80:96]
			if i := strings.IndexByte(string(name), 0); i >= 0 {
				name = name[:i]
			}
			p.names = append(p.names, string(name))
		}
	}
	if nchan < 1 || len(p.names) != nchan {
		return nil, fmt.Errorf("corrupt: the measurement info declares %d channels and describes %d", nchan, len(p.names))
	}
	if !(sfreq > 0) || math.IsInf(sfreq, 0) {
		return nil, fmt.Errorf("corrupt: sampling frequency %v", sfreq)
	}
	p.nchan, p.sfreq = nchan, sfreq
	// MNE's extended channel information (names over 15 characters): one block per channel
	if ext := info.find(fiffbChInfo); len(ext) > 0 {
		if len(ext) != nchan {
			return nil, fmt.Errorf("corrupt: %d extended channel infos for %d channels", len(ext), nchan)
		}
		for i, b := range ext {
			if t, ok := b.tag(fiffChCal); ok {
				if p.cals[i], err = tagFloat(t, "a channel's calibration"); err != nil {
					return nil, err
				}
			}
			if t, ok := b.tag(fiffChDacqName); ok && t.typ == fifftString {
				p.names[i] = string(buf[t.off : t.off+t.size])
			}
		}
	}
	for i, c := range p.cals {
		if c == 0 || math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, fmt.Errorf("corrupt: channel %s has calibration %v", p.names[i], c)
		}
	}
	// SSP projectors not yet applied: MNE's read_epochs applies them, changing the values
	inactive := 0
	for _, proj := range info.find(fiffbProj) {
		for _, item := range proj.find(fiffbProjItem) {
			active := 0
			if t, ok := item.tag(fiffProjItemActive); ok {
				if active, err = tagInt(t, "a projector's active flag"); err != nil {
					return nil, err
				}
			}
			if active == 0 {
				inactive++
			}
		}
	}
	if inactive > 0 {
		return nil, fmt.Errorf("%d SSP projector(s) stored inactive, which MNE applies on reading and brainalign does not: apply them with MNE (epochs.apply_proj()) and save the epochs again", inactive)
	}

	ep := epochsBlocks[0]
	var data fifTag
	first, last, hasData := 0, -1, false
	for _, t := range ep.tags {
		switch t.kind {
		case fiffFirstSample:
			if first, err = tagInt(t, "the first sample"); err != nil {
				return nil, err
			}
		case fiffLastSample:
			if last, err = tagInt(t, "the last sample"); err != nil {
				return nil, err
			}
		case fiffEpoch:
			data, hasData = t, true
		}
	}
	if !hasData {
		return nil, errors.New("corrupt: the epochs block holds no data (no FIFF_EPOCH tag)")
	}
	if last < first {
		return nil, fmt.Errorf("corrupt: epochs from sample %d to %d", first, last)
	}
	if data.typ&^0xffff != fifftMatrixDense {
		return nil, fmt.Errorf("epochs data of type %#x, not a dense matrix", uint32(data.typ))
	}
	elem := 4
	switch data.typ & 0xffff {
	case fifftFloat:
	case fifftDouble:
		p.double, elem = true, 8
	case fifftComplexFloat, fifftComplexDouble:
		return nil, errors.New("complex epochs data (from a time-frequency transform): brainalign reads real float or double data")
	default:
		return nil, fmt.Errorf("epochs data of data type %d (%s), not float or double", data.typ&0xffff, fifTypeName(data.typ&0xffff))
	}
	// a dense matrix: the values (C order), then the dimensions last to first, then their count
	if data.size < 16 || int32(be.Uint32(buf[data.off+data.size-4:])) != 3 {
		return nil, errors.New("corrupt: the epochs data is not a 3-d matrix")
	}
	d := buf[data.off+data.size-16:]
	times, chans, epochs := int(int32(be.Uint32(d))), int(int32(be.Uint32(d[4:]))), int(int32(be.Uint32(d[8:])))
	if chans != nchan || times != last-first+1 || epochs < 0 {
		return nil, fmt.Errorf("corrupt: epochs data of %d x %d x %d (epochs, channels, times), want %d channels and %d times (samples %d to %d)",
			epochs, chans, times, nchan, last-first+1, first, last)
	}
	if epochs < 1 {
		return nil, errors.New("no epochs (the data holds 0)")
	}
	// the product of the dimensions may overflow; one epoch's bytes cannot (bounded by the file)
	if per := chans * times * elem; (data.size-16)%per != 0 || (data.size-16)/per != epochs {
		return nil, fmt.Errorf("corrupt: epochs data of %d x %d x %d in %d bytes", epochs, chans, times, data.size-16)
	}
	p.first, p.times, p.epochs, p.dataOff = first, times, epochs, data.off

	// the next part of a split series (MNE's _get_next_fname): a reference block of role
	// "next file" names it, or gives only its number
refs:
	for _, ref := range root.find(fiffbRef) {
		next := ""
		for _, t := range ref.tags {
			switch t.kind {
			case fiffRefRole:
				role, err := tagInt(t, "a reference's role")
				if err != nil {
					return nil, err
				}
				if role != fiffvRoleNextFile {
					continue refs
				}
			case fiffRefFileName:
				if t.typ != fifftString {
					return nil, fmt.Errorf("corrupt: the next part's name is a tag of type %d", t.typ)
				}
				next = filepath.Join(filepath.Dir(path), filepath.FromSlash(string(buf[t.off:t.off+t.size])))
			case fiffRefFileNum:
				num, err := tagInt(t, "the next part's number")
				if err != nil {
					return nil, err
				}
				if next == "" {
					next = numberedPart(path, num)
				}
			}
		}
		if next != "" {
			p.next = next
			break
		}
	}
	return p, nil
}

// numberedPart is the name of part num of the series path belongs to, as MNE makes it when a part
// names the next by its number only: base-N.ext, replacing the -N of a numbered part.
func numberedPart(path string, num int) string {
	dir, base := filepath.Split(path)
	dot := strings.IndexByte(base, '.')
	if dot < 0 {
		dot = len(base)
	}
	stem, ext := base[:dot], base[dot:]
	if dash := strings.LastIndexByte(stem, '-'); dash >= 0 {
		if digits := stem[dash+1:]; digits != "" && strings.Trim(digits, "0123456789") == "" {
			stem = stem[:dash]
		}
	}
	return filepath.Join(dir, fmt.Sprintf("%s-%d%s", stem, num, ext))
}

// fifKindName names a tag's kind for errors.
func fifKindName(kind int32) string {
	switch kind {
	case fiffEpoch:
		return "the epochs data (tag 302)"
	case fiffBlockStart:
		return "a block's start (tag 104)"
	case fiffBlockEnd:
		return "a block's end (tag 105)"
	case fiffChInfo:
		return "a channel's info (tag 203)"
	}
	return fmt.Sprintf("tag %d", kind)
}

func fifTypeName(t int32) string {
	switch t {
	case fifftInt:
		return "int"
	case 1:
		return "byte"
	case 2:
		return "short"
	case 7:
		return "ushort"
	case 8:
		return "uint"
	case 13, 14, 16:
		return "packed"
	case fifftString:
		return "string"
	}
	return "unknown"
}

// fifData returns the bytes of a FIF file, decompressing a .fif.gz, and the map holding them
// (nil for decompressed bytes), which the caller releases.
func fifData(path string) ([]byte, *mapping, error) {
	m, err := openData(path)
	if err != nil {
		return nil, nil, err
	}
	buf, dm, err := fifBytes(path, m.data, m)
	if err != nil {
		m.release()
	}
	return buf, dm, err
}

// fifBytes decompresses buf, the bytes of m, when path is a .fif.gz: m is then released and the
// map returned is nil.
func fifBytes(path string, buf []byte, m *mapping) ([]byte, *mapping, error) {
	if !strings.HasSuffix(strings.ToLower(path), ".gz") {
		return buf, m, nil
	}
	raw, err := gunzip(buf)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", path, err)
	}
	m.release()
	return raw, nil, nil
}

// fifSeries reads the parts of the series that starts with part, following each part's next:
// a missing part, or parts that disagree on the channels or times, is an error.
func fifSeries(first *fifPart) ([]*fifPart, error) {
	parts := []*fifPart{first}
	seen := map[string]bool{filepath.Clean(first.path): true}
	for p := first; p.next != ""; {
		if seen[filepath.Clean(p.next)] {
			return nil, fmt.Errorf("%s: split parts name each other in a loop (%s again)", first.path, p.next)
		}
		seen[filepath.Clean(p.next)] = true
		buf, m, err := fifData(p.next)
		if err != nil {
			return nil, fmt.Errorf("%s: the epochs continue in split part %d, named in %s: %w", first.path, len(parts), filepath.Base(p.path), err)
		}
		next, err := parseFIFPart(p.next, buf)
		m.release()
		if err != nil {
			return nil, fmt.Errorf("%s: split part %s: %v", first.path, p.next, err)
		}
		if err := first.sameAs(next); err != nil {
			return nil, fmt.Errorf("%s: split part %s: %v", first.path, p.next, err)
		}
		parts = append(parts, next)
		p = next
	}
	return parts, nil
}

// sameAs checks that another part of the series holds the same channels and times.
func (p *fifPart) sameAs(q *fifPart) error {
	switch {
	case q.double != p.double:
		return fmt.Errorf("stored in %s precision, the first part in %s", precision(q.double), precision(p.double))
	case q.sfreq != p.sfreq || q.first != p.first || q.times != p.times:
		return fmt.Errorf("%d times from sample %d at %g Hz, the first part %d from %d at %g Hz", q.times, q.first, q.sfreq, p.times, p.first, p.sfreq)
	case strings.Join(q.names, "\x00") != strings.Join(p.names, "\x00"):
		return fmt.Errorf("channels %s differ from the first part's", strings.Join(q.names, ", "))
	}
	return nil
}

func precision(double bool) string {
	if double {
		return "double"
	}
	return "single"
}

// openFIF opens an MNE epochs file held in buf and checks the parts of its series: one array,
// epochs x channels x times, named after the path. (On an error openFile releases m.)
func openFIF(name string, buf []byte, m *mapping) (*File, error) {
	buf, m, err := fifBytes(name, buf, m)
	if err != nil {
		return nil, err
	}
	first, err := parseFIFPart(name, buf)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	parts, err := fifSeries(first)
	if err != nil {
		return nil, err
	}
	epochs := 0
	for _, p := range parts {
		epochs += p.epochs
	}
	dtype := "float32"
	if first.double {
		dtype = "float64"
	}
	f := newFile(name, buf, m)
	f.npy = true // one array, named after the path
	shape := []int{epochs, first.nchan, first.times}
	e := &Entry{Name: name, Shape: shape, DType: dtype, label: name}
	e.read = func(f *File, e *Entry) (*Array, error) {
		a := &Array{Name: name, Shape: shape, DType: dtype}
		n := epochs * first.nchan * first.times
		if first.double {
			a.F64 = make([]float64, n)
		} else {
			a.F32 = make([]float32, n)
		}
		at := 0 // the first epoch of the part
		for i, p := range parts {
			if i == 0 {
				p.decode(f.buf, a, at)
			} else if err := p.reread(name, a, at); err != nil {
				return nil, err
			}
			at += p.epochs
		}
		return a, nil
	}
	f.arrays = []*Entry{e}
	f.byName[name] = e
	return f, nil
}

// reread maps a later part again (Open released it) and decodes it, checking that it still
// holds what Open found.
func (p *fifPart) reread(name string, a *Array, at int) error {
	buf, m, err := fifData(p.path)
	if err != nil {
		return fmt.Errorf("%s: split part %s: %w", name, p.path, err)
	}
	defer m.release()
	q, err := parseFIFPart(p.path, buf)
	if err == nil && (q.epochs != p.epochs || p.sameAs(q) != nil) {
		err = errors.New("changed since the series was opened")
	}
	if err != nil {
		return fmt.Errorf("%s: split part %s: %v", name, p.path, err)
	}
	q.decode(buf, a, at)
	return nil
}

// decode converts the part's epochs (big-endian, divided by each channel's calibration) into a's
// values from epoch at on: multiplied back in double precision, as MNE does. Epochs are
// independent: ranges of them go to the cores.
func (p *fifPart) decode(buf []byte, a *Array, at int) {
	per := p.nchan * p.times
	raw := buf[p.dataOff:]
	workers := max(1, min(runtime.GOMAXPROCS(0), p.epochs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ep := w * p.epochs / workers; ep < (w+1)*p.epochs/workers; ep++ {
				for c, cal := range p.cals {
					i0 := ep*per + c*p.times // the channel's values in the part
					out := (at+ep)*per + c*p.times
					if p.double {
						r := raw[8*i0 : 8*(i0+p.times)]
						dst := a.F64[out : out+p.times]
						for t := range dst {
							dst[t] = math.Float64frombits(binary.BigEndian.Uint64(r[8*t:])) * cal
						}
						continue
					}
					r := raw[4*i0 : 4*(i0+p.times)]
					dst := a.F32[out : out+p.times]
					for t := range dst {
						dst[t] = float32(float64(math.Float32frombits(binary.BigEndian.Uint32(r[4*t:]))) * cal)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// EpochsInfo describes the epochs of an MNE epochs file (a whole split series) without reading
// their data.
type EpochsInfo struct {
	Epochs   int
	Channels []string  // the channels' names, in the data's order (bad channels included)
	Times    []float64 // each sample's time in seconds from the epoch's event: (first + i) / SFreq
	SFreq    float64   // samples per second
	DType    string    // "float32" (stored in single precision) or "float64"
	Parts    []string  // the files of the series, in order: the path alone when not split
}

// FIFInfo reads the epochs' time axis, channel names and the files of a split series from an MNE
// epochs file (-epo.fif), following its parts as Open does.
func FIFInfo(path string) (*EpochsInfo, error) {
	buf, m, err := fifData(path)
	if err != nil {
		return nil, err
	}
	first, err := parseFIFPart(path, buf)
	m.release()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	parts, err := fifSeries(first)
	if err != nil {
		return nil, err
	}
	info := &EpochsInfo{Channels: first.names, SFreq: first.sfreq, DType: "float32"}
	if first.double {
		info.DType = "float64"
	}
	for _, p := range parts {
		info.Epochs += p.epochs
		info.Parts = append(info.Parts, p.path)
	}
	for i := range first.times {
		info.Times = append(info.Times, float64(first.first+i)/first.sfreq) // as MNE: arange(first, last + 1) / sfreq
	}
	return info, nil
}
