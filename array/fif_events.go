package array

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The events and metadata of MNE epochs files: what each epoch shows. MNE's Epochs.save writes, in
// the epochs block of each part of a series, the events of the part's epochs (FIFF_MNE_EVENT_LIST:
// sample, previous value, code, one row per epoch saved, dropped epochs left out), the event_id
// mapping (a FIFF_DESCRIPTION string "name:code;name:code", each name cut at its last colon, as
// mne.read_events_fif does) and, when the epochs have metadata, the part's rows of the metadata
// DataFrame as JSON (DataFrame.to_json(orient="records"), in a FIFFB_MNE_METADATA block). The rows
// of the events and metadata are the epochs of the data, in order: read over the parts of a split
// series one after another, they are one per epoch that Open reads.

// FIF tags and blocks of the events and metadata (MNE's mne/io/constants.py).
const (
	fiffDescription       = 206
	fiffMNEEventList      = 3561
	fiffMNEEventComments  = 3566
	fiffbMNEEvents        = 361
	fiffbMNEMetadata      = 3811
	metadataColumnsListed = 12 // columns named in an error
)

// EpochsEvents are the events and metadata of an MNE epochs file (a whole split series), one row
// per epoch, in the order of the epochs that Open reads.
type EpochsEvents struct {
	Path    string
	Codes   []int // each epoch's event code (MNE's epochs.events[:, 2])
	Samples []int // each epoch's event sample (epochs.events[:, 0]): with the codes, which epochs these are
	// EventID is the event_id mapping, name to code, in the order stored (merged over the parts as
	// MNE merges them); nil when the file stores none (MNE then names each code by its number).
	EventID []EventName
	// Columns are the metadata's columns in order; nil when the epochs have no metadata.
	Columns []string
	rows    []map[string]json.RawMessage
}

// EventName is one entry of the event_id mapping.
type EventName struct {
	Name string
	Code int
}

// FIFEvents reads the events and metadata of an MNE epochs file (-epo.fif), following its parts as
// Open does. A file that is not epochs is refused as Open refuses it; a file whose epochs have no
// events, or whose events or metadata do not have one row per epoch, is an error.
func FIFEvents(path string) (*EpochsEvents, error) {
	info, err := FIFInfo(path)
	if err != nil {
		return nil, err
	}
	ev := &EpochsEvents{Path: path}
	var hasMeta []bool
	for i, part := range info.Parts {
		where := path
		if i > 0 {
			where = fmt.Sprintf("%s: split part %s", path, part)
		}
		buf, m, err := fifData(part)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		meta, err := ev.readPart(part, buf)
		m.release()
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		hasMeta = append(hasMeta, meta)
	}
	if len(ev.Codes) != info.Epochs {
		return nil, fmt.Errorf("%s: the parts changed while their events were read (%d epochs, then %d events)", path, info.Epochs, len(ev.Codes))
	}
	if slices.Contains(hasMeta, true) && slices.Contains(hasMeta, false) {
		return nil, fmt.Errorf("%s: metadata in some split parts only", path)
	}
	return ev, nil
}

// readPart appends the events and metadata of one part of the series, held in buf; it reports
// whether the part has metadata.
func (ev *EpochsEvents) readPart(path string, buf []byte) (bool, error) {
	p, err := parseFIFPart(path, buf)
	if err != nil {
		return false, err
	}
	root, err := parseFIF(buf)
	if err != nil {
		return false, err
	}
	be := binary.BigEndian
	blocks := root.find(fiffbMNEEvents)
	if len(blocks) == 0 {
		return false, errors.New("no events stored with the epochs (no MNE events block): say which stimulus each epoch shows in an ids file, one per line")
	}
	evb := blocks[0]
	list, ok := evb.tag(fiffMNEEventList)
	if !ok {
		return false, errors.New("no events stored with the epochs (the events block holds no event list): say which stimulus each epoch shows in an ids file, one per line")
	}
	if list.typ != fifftInt || list.size%12 != 0 {
		return false, fmt.Errorf("corrupt: the event list is a tag of type %d and %d bytes, want rows of 3 ints", list.typ, list.size)
	}
	if n := list.size / 12; n != p.epochs {
		return false, fmt.Errorf("corrupt: %d events for %d epochs", n, p.epochs)
	}
	for i := range p.epochs {
		ev.Samples = append(ev.Samples, int(int32(be.Uint32(buf[list.off+12*i:]))))
		ev.Codes = append(ev.Codes, int(int32(be.Uint32(buf[list.off+12*i+8:]))))
	}
	// the mapping: MNE takes the block's first description or event comments, in file order
	for _, t := range evb.tags {
		if t.kind == fiffMNEEventComments {
			return false, errors.New("event names stored as comments (an old MNE-C file), which brainalign does not read: give a metadata column (FILE:COLUMN) or an ids file")
		}
		if t.kind != fiffDescription {
			continue
		}
		if t.typ != fifftString {
			return false, fmt.Errorf("corrupt: the event_id mapping is a tag of type %d", t.typ)
		}
		if err := ev.addEventID(string(buf[t.off : t.off+t.size])); err != nil {
			return false, err
		}
		break
	}
	mb := root.find(fiffbMNEMetadata)
	if len(mb) == 0 {
		return false, nil
	}
	t, ok := mb[0].tag(fiffDescription)
	if !ok {
		return false, nil
	}
	if t.typ != fifftString {
		return false, fmt.Errorf("corrupt: the metadata is a tag of type %d", t.typ)
	}
	n := len(ev.rows)
	if err := ev.addMetadata(buf[t.off : t.off+t.size]); err != nil {
		return false, fmt.Errorf("metadata: %v", err)
	}
	if got := len(ev.rows) - n; got != p.epochs {
		return false, fmt.Errorf("corrupt: %d metadata rows for %d epochs", got, p.epochs)
	}
	return true, nil
}

// addEventID merges a part's event_id string ("name:code;..."), read as MNE reads it: entries cut
// at ";", each at its last ":". A name given two codes (in two parts) is an error, as in MNE.
func (ev *EpochsEvents) addEventID(s string) error {
	if ev.EventID == nil {
		ev.EventID = []EventName{}
	}
	for _, entry := range strings.Split(s, ";") {
		i := strings.LastIndexByte(entry, ':')
		if i < 0 {
			return fmt.Errorf("corrupt: event_id entry %q has no code (want name:code)", entry)
		}
		code, err := strconv.Atoi(strings.TrimSpace(entry[i+1:]))
		if err != nil {
			return fmt.Errorf("corrupt: event_id entry %q: the code is not an integer", entry)
		}
		name := entry[:i]
		if k := slices.IndexFunc(ev.EventID, func(e EventName) bool { return e.Name == name }); k >= 0 {
			if ev.EventID[k].Code != code {
				return fmt.Errorf("event %q has code %d in one part and %d in another", name, ev.EventID[k].Code, code)
			}
			continue
		}
		ev.EventID = append(ev.EventID, EventName{name, code})
	}
	return nil
}

// addMetadata appends the rows of a part's metadata (a JSON array of records), keeping the order
// of the columns as they first appear.
func (ev *EpochsEvents) addMetadata(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	delim := func(want json.Delim) error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); !ok || d != want {
			return fmt.Errorf("want %q, got %v (not a table's records, as MNE writes them)", string(want), t)
		}
		return nil
	}
	if err := delim('['); err != nil {
		return err
	}
	if ev.Columns == nil {
		ev.Columns = []string{}
	}
	for dec.More() {
		if err := delim('{'); err != nil {
			return err
		}
		row := map[string]json.RawMessage{}
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return err
			}
			key, ok := t.(string)
			if !ok {
				return fmt.Errorf("a record's key %v is not a string", t)
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				return err
			}
			if _, seen := row[key]; !seen && !slices.Contains(ev.Columns, key) {
				ev.Columns = append(ev.Columns, key)
			}
			row[key] = v
		}
		if err := delim('}'); err != nil {
			return err
		}
		ev.rows = append(ev.rows, row)
	}
	return delim(']')
}

// Names are the epochs' event names: each code's name in the event_id mapping, or its number
// where the mapping has none for it (or the file stores no mapping, when MNE names every code by
// its number). A code with several names is an error.
func (ev *EpochsEvents) Names() ([]string, error) {
	name := map[int]string{}
	for _, e := range ev.EventID {
		if prev, dup := name[e.Code]; dup {
			return nil, fmt.Errorf("%s: event code %d has two names in the event_id mapping (%q, %q): which one an epoch shows is not said; give a metadata column (FILE:COLUMN)", ev.Path, e.Code, prev, e.Name)
		}
		name[e.Code] = e.Name
	}
	out := make([]string, len(ev.Codes))
	for i, c := range ev.Codes {
		if n, ok := name[c]; ok {
			out[i] = n
		} else {
			out[i] = strconv.Itoa(c)
		}
	}
	return out, nil
}

// Column is a metadata column's value for each epoch, as text: strings as they are, whole numbers
// without a decimal point (1234.0 is "1234"), other numbers as Python prints them, booleans as
// "True" and "False". A column that does not exist (the error names those that do), epochs
// without metadata, and a missing value (NaN, None) or a list in any row are errors.
func (ev *EpochsEvents) Column(col string) ([]string, error) {
	if ev.Columns == nil {
		return nil, fmt.Errorf("%s: no metadata (epochs.metadata was None when saved), so no column %s: use the event names (the file without :%s), or add the metadata in MNE and save again", ev.Path, col, col)
	}
	if !slices.Contains(ev.Columns, col) {
		return nil, fmt.Errorf("%s: no column %s in the metadata (columns: %s)", ev.Path, col, someColumns(ev.Columns))
	}
	out := make([]string, len(ev.rows))
	missing, first := 0, -1
	for i, row := range ev.rows {
		v, err := metadataText(row[col])
		if err != nil {
			return nil, fmt.Errorf("%s: metadata column %s, epochs[%d]: %v", ev.Path, col, i, err)
		}
		if v == nil {
			if missing++; first < 0 {
				first = i
			}
			continue
		}
		out[i] = *v
	}
	if missing > 0 {
		return nil, fmt.Errorf("%s: metadata column %s has no value (NaN or None) for %d of %d epochs (the first: epochs[%d]): give a column with a value for every epoch", ev.Path, col, missing, len(out), first)
	}
	return out, nil
}

// ColumnHoldsText reports whether metadata column col holds strings (a value of some epoch is a
// JSON string), which pandas keeps as str objects and numpy orders as text ("10" before "2", also
// when they hold digits), rather than numbers or booleans, which it orders by value.
func (ev *EpochsEvents) ColumnHoldsText(col string) bool {
	for _, row := range ev.rows {
		if v := bytes.TrimSpace(row[col]); len(v) > 0 && v[0] == '"' {
			return true
		}
	}
	return false
}

func someColumns(cols []string) string {
	if len(cols) <= metadataColumnsListed {
		return strings.Join(cols, ", ")
	}
	return strings.Join(cols[:metadataColumnsListed], ", ") + fmt.Sprintf(", ... %d more", len(cols)-metadataColumnsListed)
}

// metadataText is a metadata value as text; nil for a missing one (JSON null, as pandas writes
// NaN and None, or a record without the column).
func metadataText(raw json.RawMessage) (*string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil
	}
	var s string
	switch raw[0] {
	case 'n':
		return nil, nil
	case '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
	case 't':
		s = "True"
	case 'f':
		s = "False"
	case '[', '{':
		return nil, fmt.Errorf("a list or a mapping (%.40s), not a string or a number", raw)
	default:
		s = numberText(string(raw))
	}
	return &s, nil
}

// numberText writes a JSON number as Python prints the value pandas reads from it: an integer as
// it is, a whole float as an integer (within float64's exact integers), any other float as
// Python's repr (the shortest decimal that reads back, in exponent form below 1e-4 and from
// 1e16).
func numberText(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		return lit
	}
	v, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit
	}
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.FormatInt(int64(v), 10)
	}
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return lit
	}
	e := strconv.FormatFloat(v, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp >= -4 && exp < 16 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return e
}

// SameEpochs reports whether ev and other are the events of the same epochs (the same event
// samples and codes, in order), and where they first differ (-1 for the count).
func (ev *EpochsEvents) SameEpochs(other *EpochsEvents) (bool, int) {
	if len(ev.Codes) != len(other.Codes) {
		return false, -1
	}
	for i := range ev.Codes {
		if ev.Codes[i] != other.Codes[i] || ev.Samples[i] != other.Samples[i] {
			return false, i
		}
	}
	return true, 0
}
