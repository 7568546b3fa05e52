package array

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
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
// tensors alias the map. Close every array when done with it.
func ReadSafetensors(path string) ([]*Array, error) {
	m, err := openData(path)
	if err != nil {
		return nil, err
	}
	defer m.release()
	return decodeSafetensors(path, m.data, m)
}

type safetensorsEntry struct {
	DType   *string  `json:"dtype"`
	Shape   *[]int64 `json:"shape"`
	Offsets []uint64 `json:"data_offsets"`
}

func decodeSafetensors(name string, buf []byte, m *mapping) (arrays []*Array, err error) {
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
		name       string
		t          dtype
		shape      []int
		n          int
		begin, end uint64
	}
	var ts []tensor
	for tn, msg := range raw {
		if tn == "__metadata__" {
			continue
		}
		var e safetensorsEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("%s: tensor %q: bad header entry: %v", name, tn, err)
		}
		switch {
		case e.DType == nil:
			return nil, fmt.Errorf("%s: tensor %q: header entry has no \"dtype\"", name, tn)
		case e.Shape == nil:
			return nil, fmt.Errorf("%s: tensor %q: header entry has no \"shape\"", name, tn)
		case len(e.Offsets) != 2:
			return nil, fmt.Errorf("%s: tensor %q: \"data_offsets\" is not [begin, end]", name, tn)
		}
		t, ok := safetensorsDTypes[*e.DType]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q: unsupported dtype %q", name, tn, *e.DType)
		}
		shape := make([]int, len(*e.Shape))
		for i, d := range *e.Shape {
			if d < 0 || d > maxDim {
				return nil, fmt.Errorf("%s: tensor %q: shape %v is not a list of non-negative ints", name, tn, *e.Shape)
			}
			shape[i] = int(d)
		}
		n, nbytes, err := dataBytes(shape, t.size)
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %v", name, tn, err)
		}
		begin, end := e.Offsets[0], e.Offsets[1]
		if begin > end || end > uint64(len(data)) {
			return nil, fmt.Errorf("%s: tensor %q: data offsets [%d, %d] out of range (the data section has %d bytes)", name, tn, begin, end, len(data))
		}
		if end-begin != uint64(nbytes) {
			return nil, fmt.Errorf("%s: tensor %q: data offsets [%d, %d] span %d bytes, shape %s of %s needs %d",
				name, tn, begin, end, end-begin, shapeString(shape), t.name, nbytes)
		}
		ts = append(ts, tensor{tn, t, shape, n, begin, end})
	}
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].begin != ts[j].begin {
			return ts[i].begin < ts[j].begin
		}
		if ts[i].end != ts[j].end {
			return ts[i].end < ts[j].end
		}
		return ts[i].name < ts[j].name
	})
	for i := 1; i < len(ts); i++ {
		if ts[i].begin < ts[i-1].end {
			return nil, fmt.Errorf("%s: tensors %q [%d, %d] and %q [%d, %d] overlap",
				name, ts[i-1].name, ts[i-1].begin, ts[i-1].end, ts[i].name, ts[i].begin, ts[i].end)
		}
	}
	defer func() {
		if err != nil {
			for _, a := range arrays {
				a.Close()
			}
			arrays = nil
		}
	}()
	for _, t := range ts {
		a := &Array{Name: t.name, Shape: t.shape, DType: t.t.name}
		if err := fill(a, t.t, data[t.begin:t.end], t.n, m); err != nil {
			return arrays, fmt.Errorf("%s: tensor %q: %v", name, t.name, err)
		}
		arrays = append(arrays, a)
	}
	return arrays, nil
}
