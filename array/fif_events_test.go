package array

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

type fifIDsExpected struct {
	IDs map[string]struct {
		Codes    []int                `json:"codes"`
		EventID  map[string]int       `json:"event_id"`
		Names    []string             `json:"names"`
		Epochs   int                  `json:"epochs"`
		Columns  []string             `json:"columns"`
		Metadata map[string][]*string `json:"metadata"`
	} `json:"ids"`
	BadIDs map[string]string `json:"bad_ids"`
}

// The events and metadata of MNE epochs files as MNE reads them back (testdata/gen_fif.py writes
// epochs.events, epochs.event_id and epochs.metadata after mne.read_epochs): one row per epoch of
// the data, dropped epochs left out, over the parts of a split series; event names with "/" and
// ":"; no mapping stored (codes named by their number); metadata of strings, integers, whole and
// other floats, booleans and NaN.
func TestFIFEventsMatchMNE(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "fif", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp fifIDsExpected
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.IDs) < 3 {
		t.Fatalf("%d files with ids in expected.json", len(exp.IDs))
	}
	for name, want := range exp.IDs {
		path := filepath.Join("..", "testdata", "fif", name)
		ev, err := FIFEvents(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		f, err := Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rows := f.Arrays()[0].Shape[0]
		f.Close()
		if len(ev.Codes) != want.Epochs || rows != want.Epochs || !slices.Equal(ev.Codes, want.Codes) {
			t.Errorf("%s: codes %v (data: %d epochs), MNE's %v", name, ev.Codes, rows, want.Codes)
		}
		names, err := ev.Names()
		if err != nil || !slices.Equal(names, want.Names) {
			t.Errorf("%s: names %q (%v), MNE's %q", name, names, err, want.Names)
		}
		for _, e := range ev.EventID {
			if code, ok := want.EventID[e.Name]; !ok || code != e.Code {
				t.Errorf("%s: event_id %q: %d, MNE's %v", name, e.Name, e.Code, want.EventID)
			}
		}
		if !slices.Equal(ev.Columns, want.Columns) {
			t.Errorf("%s: columns %q, MNE's %q", name, ev.Columns, want.Columns)
		}
		for col, vals := range want.Metadata {
			got, err := ev.Column(col)
			if slices.Contains(vals, nil) {
				if err == nil || !strings.Contains(err.Error(), "no value") {
					t.Errorf("%s: column %s with NaN: %v", name, col, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: column %s: %v", name, col, err)
				continue
			}
			for i, v := range vals {
				if got[i] != *v {
					t.Errorf("%s: column %s, epoch %d: %q, MNE's %q", name, col, i, got[i], *v)
				}
			}
		}
	}
	// refused, with one line naming the file
	for spec, part := range exp.BadIDs {
		file, col, _ := strings.Cut(spec, ":")
		path := filepath.Join("..", "testdata", "fif", file)
		ev, err := FIFEvents(path)
		if err == nil {
			if col == "" {
				_, err = ev.Names()
			} else {
				_, err = ev.Column(col)
			}
		}
		if err == nil || !strings.Contains(err.Error(), part) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want an error with %q naming the file", spec, err, part)
		}
	}
}

// Numbers as Python prints the floats pandas reads (repr), whole ones as integers.
func TestMetadataNumberText(t *testing.T) {
	for lit, want := range map[string]string{
		"42": "42", "-7": "-7", "1234.0": "1234", "-0.0": "0", "0.5": "0.5", "0.0001": "0.0001",
		"0.00001": "1e-05", "1.5e-7": "1.5e-07", "12345678.9000000004": "12345678.9", "2.5e+16": "2.5e+16",
		"1e16": "1e+16", "9007199254740991.0": "9007199254740991", "123456789012345678901": "123456789012345678901",
		"1234567.5": "1234567.5",
	} {
		if got := numberText(lit); got != want {
			t.Errorf("numberText(%s) = %q, want %q", lit, got, want)
		}
	}
}
