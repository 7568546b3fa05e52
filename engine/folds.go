package engine

import (
	"fmt"
	"sort"
)

// Fold is one train/test split of the rows. Indices are in increasing order.
type Fold struct {
	Train, Test []int
}

// KFold splits n rows into k contiguous, unshuffled blocks, the first n%k blocks one row larger:
// scikit-learn's KFold(k) semantics.
func KFold(n, k int) ([]Fold, error) {
	if k < 2 {
		return nil, fmt.Errorf("folds: need at least 2 folds, got %d", k)
	}
	if n < k {
		return nil, fmt.Errorf("folds: %d rows cannot make %d folds", n, k)
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	return blocks(perm, k), nil
}

// ShuffledKFold is KFold over a seeded permutation of the rows, the same permutation as
// scikit-learn's KFold(k, shuffle=True, random_state=seed) (numpy's RandomState(seed).shuffle),
// so shuffled folds can be reproduced on both sides.
func ShuffledKFold(n, k int, seed uint32) ([]Fold, error) {
	if _, err := KFold(n, k); err != nil {
		return nil, err
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	newNumpyRNG(seed).shuffle(perm)
	return blocks(perm, k), nil
}

// blocks cuts perm into k contiguous blocks of sizes n/k (+1 for the first n%k).
func blocks(perm []int, k int) []Fold {
	n := len(perm)
	folds := make([]Fold, k)
	start := 0
	for f := 0; f < k; f++ {
		size := n / k
		if f < n%k {
			size++
		}
		test := append([]int(nil), perm[start:start+size]...)
		folds[f] = complement(n, test)
		start += size
	}
	return folds
}

// GroupKFold keeps the rows of one group in the same test fold, with scikit-learn's GroupKFold
// rule: groups, largest first, each go to the fold with the fewest rows so far (the lowest fold
// index on ties). Groups of equal size are taken in the order scikit-learn takes them: the
// reverse of numpy's argsort of the sizes (labels ascending), which is not stable beyond 16
// groups; numpyArgsort is numpy's scalar argsort (npsort.go says which numpy vectorises it).
func GroupKFold(groups []int, k int) ([]Fold, error) {
	if k < 2 {
		return nil, fmt.Errorf("folds: need at least 2 folds, got %d", k)
	}
	members := map[int][]int{}
	for i, g := range groups {
		members[g] = append(members[g], i)
	}
	if len(members) < k {
		return nil, fmt.Errorf("folds: %d groups cannot make %d folds", len(members), k)
	}
	ids := make([]int, 0, len(members))
	for g := range members {
		ids = append(ids, g)
	}
	// np.unique (ascending labels), numpy's argsort of the groups' sizes, then reversed.
	sort.Ints(ids)
	sizes := make([]int, len(ids))
	for x, g := range ids {
		sizes[x] = len(members[g])
	}
	order := numpyArgsort(sizes)
	load := make([]int, k)
	tests := make([][]int, k)
	for x := len(order) - 1; x >= 0; x-- {
		g := ids[order[x]]
		f := 0
		for j := 1; j < k; j++ {
			if load[j] < load[f] {
				f = j
			}
		}
		load[f] += len(members[g])
		tests[f] = append(tests[f], members[g]...)
	}
	folds := make([]Fold, k)
	for f := range folds {
		folds[f] = complement(len(groups), tests[f])
	}
	return folds, nil
}

// PredefinedSplit makes a fold of each distinct label k >= 0 of testFold (one label per row), in
// ascending order of k: its rows are held out, all others train. Rows labelled -1 are never held
// out. These are scikit-learn's PredefinedSplit(testFold) folds; a fixed test set (NSD's shared
// images) is one fold. Other negative labels are refused, as typing errors more likely than folds.
func PredefinedSplit(testFold []int) ([]Fold, error) {
	members := map[int][]int{}
	for i, k := range testFold {
		if k < -1 {
			return nil, fmt.Errorf("folds: row %d has test fold %d: want -1 (always trained on) or a fold number >= 0", i, k)
		}
		if k >= 0 {
			members[k] = append(members[k], i)
		}
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("folds: no row is held out (every test fold label is -1)")
	}
	labels := make([]int, 0, len(members))
	for k := range members {
		labels = append(labels, k)
	}
	sort.Ints(labels)
	folds := make([]Fold, len(labels))
	for f, k := range labels {
		folds[f] = complement(len(testFold), members[k])
	}
	return folds, nil
}

// Pick returns v[i] for each index i of idx (rows of a fold picked from another list of rows).
func Pick(v, idx []int) []int {
	out := make([]int, len(idx))
	for k, i := range idx {
		out[k] = v[i]
	}
	return out
}

// complement builds a fold from its test rows: both index lists sorted.
func complement(n int, test []int) Fold {
	sort.Ints(test)
	in := make([]bool, n)
	for _, i := range test {
		in[i] = true
	}
	train := make([]int, 0, n-len(test))
	for i := 0; i < n; i++ {
		if !in[i] {
			train = append(train, i)
		}
	}
	return Fold{Train: train, Test: test}
}

// ValidateFolds checks that every fold indexes rows in [0, n), has a disjoint train and test set,
// and has enough training rows for the inner selection.
func ValidateFolds(folds []Fold, n, minTrain int) error {
	if len(folds) == 0 {
		return fmt.Errorf("folds: no folds")
	}
	seen := make([]int, n)
	for f, fold := range folds {
		if len(fold.Test) == 0 {
			return fmt.Errorf("folds: fold %d has no test rows", f)
		}
		if len(fold.Train) < minTrain {
			return fmt.Errorf("folds: fold %d has %d training rows, fewer than the %d needed", f, len(fold.Train), minTrain)
		}
		for _, rows := range [][]int{fold.Train, fold.Test} {
			for _, i := range rows {
				if i < 0 || i >= n {
					return fmt.Errorf("folds: fold %d indexes row %d of %d", f, i, n)
				}
				if seen[i] == f+1 {
					return fmt.Errorf("folds: fold %d uses row %d twice (train and test must be disjoint)", f, i)
				}
				seen[i] = f + 1
			}
		}
	}
	return nil
}
