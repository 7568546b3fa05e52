package array

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
)

// safetensors layout: an 8-byte little-endian header length N, N bytes of JSON
//
//	{"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, "__metadata__": {...}}
//
// then the data; offsets are relative to the start of the data. Data is always little-endian
// and C order.

var safetensorsDTypes = map[string]dtype{
	"F16":  {name: "float16", kind: 'f', size: 2},
	"BF16": {name: "bfloat16", kind: 'h', size: 2},
	"F32":  {name: "float32", kind: 'f', size: 4},
	"F64":  {name: "float64", kind: 'f', size: 8},
	"I8":   {name: "int8", kind: 'i', size: 1},
	"I16":  {name: "int16", kind: 'i', size: 2},
	"I32":  {name: "int32", kind: 'i', size: 4},
	"I64":  {name: "int64", kind: 'i', size: 8},
	"U8":   {name: "uint8", kind: 'u', size: 1},
	"U16":  {name: "uint16", kind: 'u', size: 2},
	"U32":  {name: "uint32", kind: 'u', size: 4},
	"U64":  {name: "uint64", kind: 'u', size: 8},
	"BOOL": {name: "bool", kind: 'b', size: 1},
}

// ReadSafetensors reads the tensors of a safetensors file in the order of their data in the
// file (the header's data offsets). The file is memory-mapped; float32, float64 and int64
// tensors alias the map. Close every array when done with it. To read some tensors only, use
// Open.
func ReadSafetensors(path string) ([]*Array, error) {
	f, err := openFile(path, openSafetensors)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadAll()
}

type safetensorsEntry struct {
	DType   *string  `json:"dtype"`
	Shape   *[]int64 `json:"shape"`
	Offsets []uint64 `json:"data_offsets"`
}

// openSafetensors parses and checks the header of the safetensors file held in buf. A header
// that cannot be parsed, and tensors whose data overlap, are errors; a tensor whose entry is
// wrong on its own (an unsupported dtype, offsets out of range) is an error when it is read. It
// takes over the caller's reference on m when it succeeds.
func openSafetensors(name string, buf []byte, m *mapping) (*File, error) {
	if len(buf) < 8 {
		return nil, fmt.Errorf("%s: truncated: %d bytes, too short for a safetensors header", name, len(buf))
	}
	hlen := binary.LittleEndian.Uint64(buf)
	if hlen > uint64(len(buf)-8) {
		return nil, fmt.Errorf("%s: header length %d beyond the end of the file (%d bytes)", name, hlen, len(buf))
	}
	data := buf[8+hlen:]
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(buf[8 : 8+hlen]))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: safetensors header is not a valid JSON object: %v", name, err)
	}
	// Writers pad the header with spaces; anything else after the object is corruption.
	if rest := bytes.TrimSpace(buf[8+dec.InputOffset() : 8+hlen]); len(rest) > 0 {
		return nil, fmt.Errorf("%s: safetensors header has %d bytes of junk after the JSON object", name, len(rest))
	}
	if raw == nil {
		return nil, fmt.Errorf("%s: safetensors header is not a valid JSON object: null", name)
	}
	type tensor struct {
		e          *Entry
		begin, end uint64
	}
	var ts []tensor
	for tn, msg := range raw {
		if tn == "__metadata__" {
			continue
		}
		e := &Entry{Name: tn, label: fmt.Sprintf("%s: tensor %q", name, tn)}
		begin, end, err := tensorEntry(e, msg, len(data))
		if err != nil {
			e.Err = fmt.Errorf("%s: %w", e.label, err)
		} else {
			e.off, e.size = 8+int(hlen)+int(begin), int(end-begin)
		}
		ts = append(ts, tensor{e, begin, end})
	}
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].begin != ts[j].begin {
			return ts[i].begin < ts[j].begin
		}
		if ts[i].end != ts[j].end {
			return ts[i].end < ts[j].end
		}
		return ts[i].e.Name < ts[j].e.Name
	})
	var prev *tensor
	for i := range ts {
		t := &ts[i]
		if t.e.Err != nil {
			continue
		}
		if prev != nil && t.begin < prev.end {
			return nil, fmt.Errorf("%s: tensors %q [%d, %d] and %q [%d, %d] overlap",
				name, prev.e.Name, prev.begin, prev.end, t.e.Name, t.begin, t.end)
		}
		prev = t
	}
	f := newFile(name, buf, m)
	for _, t := range ts {
		f.arrays = append(f.arrays, t.e)
		f.byName[t.e.Name] = t.e
	}
	return f, nil
}

// tensorEntry checks one tensor's header entry against a data section of ndata bytes and sets
// e's shape and dtype from it.
func tensorEntry(e *Entry, msg json.RawMessage, ndata int) (begin, end uint64, err error) {
	var se safetensorsEntry
	if err := json.Unmarshal(msg, &se); err != nil {
		return 0, 0, fmt.Errorf("bad header entry: %v", err)
	}
	switch {
	case se.DType == nil:
		return 0, 0, fmt.Errorf("header entry has no \"dtype\"")
	case se.Shape == nil:
		return 0, 0, fmt.Errorf("header entry has no \"shape\"")
	case len(se.Offsets) != 2:
		return 0, 0, fmt.Errorf("\"data_offsets\" is not [begin, end]")
	}
	begin, end = se.Offsets[0], se.Offsets[1]
	t, ok := safetensorsDTypes[*se.DType]
	if !ok {
		return begin, end, unsupportedDType(fmt.Sprintf("unsupported dtype %q", *se.DType))
	}
	shape := make([]int, len(*se.Shape))
	var bigErr *bigShapeError
	for i, d := range *se.Shape {
		if d < 0 {
			return begin, end, fmt.Errorf("shape %v is not a list of non-negative ints", *se.Shape)
		}
		if d > maxDim && bigErr == nil {
			bigErr = &bigShapeError{dims: *se.Shape, dtype: t}
		}
		shape[i] = int(min(d, maxDim))
	}
	if begin > end || end > uint64(ndata) {
		return begin, end, fmt.Errorf("data offsets [%d, %d] out of range (the data section has %d bytes)", begin, end, ndata)
	}
	if bigErr != nil {
		if need := bigErr.bytes(); need.Cmp(new(big.Int).SetUint64(end-begin)) != 0 {
			return begin, end, fmt.Errorf("data offsets [%d, %d] span %d bytes, shape %s of %s needs %s",
				begin, end, end-begin, bigShapeString(bigErr.dims), t.name, need)
		}
		return begin, end, bigErr
	}
	n, nbytes, err := dataBytes(shape, t.size)
	if err != nil {
		return begin, end, err
	}
	if end-begin != uint64(nbytes) {
		return begin, end, fmt.Errorf("data offsets [%d, %d] span %d bytes, shape %s of %s needs %d",
			begin, end, end-begin, ShapeString(shape), t.name, nbytes)
	}
	e.Shape, e.DType, e.t, e.n = shape, t.name, t, n
	return begin, end, nil
}
