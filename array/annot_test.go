package array

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func annotFixture(name string) string { return filepath.Join("..", "testdata", "annot", name) }

type annotExpected struct {
	Labels []int             `json:"labels"`
	Names  map[string]string `json:"names"`
}

func readAnnotExpected(t *testing.T) map[string]annotExpected {
	t.Helper()
	b, err := os.ReadFile(annotFixture("expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	out := map[string]annotExpected{}
	for k, raw := range all {
		if !strings.HasSuffix(k, ".annot") {
			continue
		}
		var e annotExpected
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		out[k] = e
	}
	return out
}

// TestAnnot: gen_annot.py's annotations (a new-format colour table written by NiBabel, with
// values of no entry; an old-format one of shuffled vertices) read as NiBabel's labels, placed at
// the vertices the file names, with -1 for value 0 and values of no entry, and the table's names;
// Read gives the same labels as one int64 array.
func TestAnnot(t *testing.T) {
	want := readAnnotExpected(t)
	if len(want) != 3 {
		t.Fatalf("expected.json has %d annotations, want 3", len(want))
	}
	for name, w := range want {
		a, err := ReadAnnot(annotFixture(name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(a.Labels, w.Labels) {
			t.Errorf("%s: labels %v, want NiBabel's %v", name, a.Labels, w.Labels)
		}
		names := map[string]string{}
		for k, n := range a.Names {
			names[strconv.Itoa(k)] = n
		}
		if !reflect.DeepEqual(names, w.Names) {
			t.Errorf("%s: names %v, want %v", name, names, w.Names)
		}
		arrs, err := Read(annotFixture(name))
		if err != nil {
			t.Fatalf("%s: Read: %v", name, err)
		}
		if len(arrs) != 1 || !reflect.DeepEqual(arrs[0].Shape, []int{len(w.Labels)}) {
			t.Fatalf("%s: Read gave %d arrays, shape %v", name, len(arrs), arrs[0].Shape)
		}
		for i, l := range arrs[0].Ints() {
			if int(l) != w.Labels[i] {
				t.Errorf("%s: Read's label %d is %d, want %d", name, i, l, w.Labels[i])
				break
			}
		}
		if !IsAnnot(name) || IsAnnot(name+".npy") {
			t.Errorf("IsAnnot(%q) wrong", name)
		}
	}
}

// TestAnnotRefused: annotations cut short, of a vertex out of range or twice, without a colour
// table, of an index twice or a colour two entries share: each refused, saying why.
func TestAnnotRefused(t *testing.T) {
	good, err := os.ReadFile(annotFixture("lh.annot"))
	if err != nil {
		t.Fatal(err)
	}
	be := binary.BigEndian
	nv := int(be.Uint32(good))
	ctabAt := 4 + 8*nv // the tag
	// the new-format table: tag, -2, size, "NOFILE\0" (len 7), count, then entries
	entry0 := ctabAt + 4 + 4 + 4 + 4 + 7 + 4
	entry1 := entry0 + 4 + 4 + len("unknown\x00") + 16
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	put := func(b []byte, at, v int) []byte { be.PutUint32(b[at:], uint32(int32(v))); return b }
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated table", good[:len(good)-10], "truncated"},
		{"truncated pairs", good[:4+8*10], "truncated or corrupt"},
		{"empty", nil, "truncated"},
		{"vertex out of range", edit(func(b []byte) []byte { return put(b, 4+8*3, nv) }), "pair 3 names vertex 40, out of range for 40 vertices"},
		{"negative vertex", edit(func(b []byte) []byte { return put(b, 4+8*3, -1) }), "out of range"},
		{"duplicate vertex", edit(func(b []byte) []byte { return put(b, 4+8*3, 2) }), "vertex 2 annotated twice (pair 3)"},
		{"no colour table", good[:ctabAt], "no colour table"},
		{"tag 0", edit(func(b []byte) []byte { return put(b, ctabAt, 0) }), "no colour table (tag 0"},
		{"version 3", edit(func(b []byte) []byte { return put(b, ctabAt+4, -3) }), "version 3"},
		{"index twice", edit(func(b []byte) []byte { return put(b, entry1, 0) }), "colour table index 0 twice (\"unknown\" and \"V1\")"},
		{"index beyond the table", edit(func(b []byte) []byte { return put(b, entry1, 4) }), "index 4, outside the table's 4"},
		{"shared colour", edit(func(b []byte) []byte { // V1 given unknown's colour
			for k := range 3 {
				put(b, entry1+4+4+len("V1\x00")+4*k, int(be.Uint32(b[entry0+4+4+len("unknown\x00")+4*k:])))
			}
			return b
		}), "ambiguous"},
		{"colour beyond 255", edit(func(b []byte) []byte { return put(b, entry0+4+4+len("unknown\x00"), 256) }), "outside 0 to 255"},
	} {
		path := filepath.Join(t.TempDir(), "lh.annot")
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadAnnot(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file and saying %q", c.name, err, c.want)
		}
		if _, rerr := Read(path); rerr == nil || err != nil && rerr.Error() != err.Error() {
			t.Errorf("%s: Read's error %v, want ReadAnnot's %v", c.name, rerr, err)
		}
	}
}

// FuzzAnnot: any bytes parse as an annotation or are refused, without a panic; what parses has
// one label per vertex, each -1 or an entry's index, every entry named.
func FuzzAnnot(f *testing.F) {
	for _, name := range []string{"lh.annot", "rh.annot", "old.annot"} {
		b, err := os.ReadFile(annotFixture(name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseAnnot(b)
		if err != nil {
			return
		}
		if len(a.Labels) < 1 || len(a.Labels) > len(b)/8 {
			t.Fatalf("%d labels from %d bytes", len(a.Labels), len(b))
		}
		for v, l := range a.Labels {
			if _, ok := a.Names[l]; l != -1 && !ok {
				t.Fatalf("vertex %d: label %d of no entry", v, l)
			}
		}
		for k, n := range a.Names {
			if n == "" || k < 0 {
				t.Fatalf("entry %d named %q", k, n)
			}
		}
	})
}
