package main

import "github.com/brainalign/brainalign/internal/outdir"

// createOut stages the output folder of encode and synth (internal/outdir), first making its
// missing parent folders as the other commands do (`--out results/subj01_layer12` in a fresh
// clone). The returned cleanup, deferred, removes the staging folder and, unless the output was
// committed, the parents it made.
func createOut(path string, overwrite bool) (*outdir.Dir, func(), error) {
	made, err := makeParents(path)
	if err != nil {
		return nil, nil, err
	}
	out, err := outdir.Create(path, overwrite)
	if err != nil {
		removeMade(made)
		return nil, nil, err
	}
	return out, func() {
		out.Abort()
		if !out.Committed() {
			removeMade(made)
		}
	}, nil
}
