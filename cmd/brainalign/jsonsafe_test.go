package main

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// TestJSONSafe checks jsonSafe against encoding/json (the same document, embedded structs and
// pointers promoted, tags and omitempty obeyed) and its one difference: NaN and Inf are null.
func TestJSONSafe(t *testing.T) {
	type inner struct {
		A float64 `json:"a"`
		B string  `json:"b,omitempty"`
	}
	type deep struct {
		C []int `json:"c"`
	}
	type outer struct {
		X float64 `json:"x"`
		inner
		*deep
		Skip   int            `json:"-"`
		Named  inner          `json:"named"`
		Ptr    *inner         `json:"ptr"`
		Map    map[string]int `json:"map"`
		hidden int
	}
	for _, v := range []outer{
		{X: 1, inner: inner{A: 2}, deep: &deep{C: []int{3}}, Skip: 4, Named: inner{A: 5, B: "b"}, Map: map[string]int{"k": 6}, hidden: 7},
		{X: 1, Ptr: &inner{A: 8}}, // a nil embedded pointer
	} {
		want, _ := json.Marshal(v)
		got, err := json.Marshal(jsonSafe(v))
		var g, w any
		json.Unmarshal(got, &g)
		json.Unmarshal(want, &w)
		if err != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("jsonSafe: %s (%v)\nencoding/json: %s", got, err, want)
		}
	}
	got, _ := json.Marshal(jsonSafe(outer{X: math.NaN(), inner: inner{A: math.Inf(-1)}, deep: &deep{}}))
	if want := `{"a":null,"c":null,"map":null,"named":{"a":0},"ptr":null,"x":null}`; string(got) != want {
		t.Errorf("non-finite values: %s, want %s", got, want)
	}
}
