package engine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// readFoldsFixture reads a JSON fixture of testdata/gen_folds.py (scikit-learn 1.2.1, numpy
// 1.24.2) into cases.
func readFoldsFixture(t *testing.T, name string, cases any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "folds", name))
	if err != nil {
		t.Fatal(err)
	}
	doc := struct {
		Cases any `json:"cases"`
	}{Cases: cases}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestGroupKFoldManyEqualGroups: with more than 16 groups, many of one size, the folds are those
// of scikit-learn's GroupKFold, whose order of equal-sized groups is numpy's unstable argsort.
func TestGroupKFoldManyEqualGroups(t *testing.T) {
	var cases []struct {
		Groups []int   `json:"groups"`
		K      int     `json:"k"`
		Test   [][]int `json:"test"`
	}
	readFoldsFixture(t, "groupkfold.json", &cases)
	if len(cases) < 20 {
		t.Fatalf("%d cases in the fixture", len(cases))
	}
	for c, tc := range cases {
		folds, err := GroupKFold(tc.Groups, tc.K)
		if err != nil {
			t.Fatalf("case %d: %v", c, err)
		}
		if len(folds) != len(tc.Test) {
			t.Fatalf("case %d: %d folds, scikit-learn %d", c, len(folds), len(tc.Test))
		}
		for f, want := range tc.Test {
			if fmt.Sprint(folds[f].Test) != fmt.Sprint(want) {
				t.Errorf("case %d (%d rows, k %d), fold %d: test rows %v, scikit-learn %v", c, len(tc.Groups), tc.K, f, folds[f].Test, want)
				break
			}
		}
	}
}

// TestNumpyArgsort: the order of equal values is numpy's, for its default argsort (an introsort)
// and its heapsort (the introsort's fallback).
func TestNumpyArgsort(t *testing.T) {
	var cases []struct {
		Values    []int `json:"values"`
		Quicksort []int `json:"quicksort"`
		Heapsort  []int `json:"heapsort"`
		Fallback  bool  `json:"fallback"`
	}
	readFoldsFixture(t, "argsort.json", &cases)
	if len(cases) < 60 {
		t.Fatalf("%d cases in the fixture", len(cases))
	}
	fallbacks := 0
	onIntrosortFallback = func() { fallbacks++ }
	defer func() { onIntrosortFallback = nil }()
	reached := 0
	for c, tc := range cases {
		before := fallbacks
		if got := numpyArgsort(tc.Values); fmt.Sprint(got) != fmt.Sprint(tc.Quicksort) {
			t.Errorf("case %d (%d values): argsort %v, numpy %v", c, len(tc.Values), got, tc.Quicksort)
		}
		// The adversarial cases are there for the fallback: they must reach it.
		if went := fallbacks > before; went != tc.Fallback {
			t.Errorf("case %d (%d values): heapsort fallback reached %v, want %v", c, len(tc.Values), went, tc.Fallback)
		} else if went {
			reached++
		}
		idx := make([]int, len(tc.Values))
		for i := range idx {
			idx[i] = i
		}
		numpyArgHeapsort(tc.Values, idx)
		if fmt.Sprint(idx) != fmt.Sprint(tc.Heapsort) {
			t.Errorf("case %d (%d values): heapsort %v, numpy %v", c, len(tc.Values), idx, tc.Heapsort)
		}
	}
	if reached < 6 {
		t.Errorf("%d cases reached the heapsort fallback, want the fixture's 6", reached)
	}
}

// TestShuffledKFoldAtStudySize: KFold(shuffle=True) at THINGS-MEG's 22,448 images, where the
// permutation draws tens of thousands of numbers (the generator's state regenerated many times).
func TestShuffledKFoldAtStudySize(t *testing.T) {
	var cases []struct {
		N    int    `json:"n"`
		K    int    `json:"k"`
		Seed uint32 `json:"seed"`
		Fold []int  `json:"fold"`
	}
	readFoldsFixture(t, "kfold_shuffle.json", &cases)
	if len(cases) == 0 {
		t.Fatal("no cases in the fixture")
	}
	for _, tc := range cases {
		folds, err := ShuffledKFold(tc.N, tc.K, tc.Seed)
		if err != nil {
			t.Fatal(err)
		}
		differ := 0
		for f, fold := range folds {
			for _, i := range fold.Test {
				if tc.Fold[i] != f {
					differ++
				}
			}
		}
		if differ > 0 {
			t.Errorf("n=%d k=%d seed=%d: %d rows in other folds than scikit-learn's", tc.N, tc.K, tc.Seed, differ)
		}
		if err := ValidateFolds(folds, tc.N, 1); err != nil {
			t.Error(err)
		}
	}
}
