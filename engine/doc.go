// Package engine describes a brain-encoding problem and its result independently of the device
// that solves it, and defines the small interface an engine implements.
//
// The computation (see docs/design.md §2) is ridge regression from model activations X (n x d) to
// brain targets Y (n x m) over a grid of penalties, with the penalty chosen per target by an inner
// cross-validation inside each outer training fold, and each target scored by the Pearson r
// between prediction and measurement on the held-out fold. scikit-learn's
// RidgeCV(alphas, alpha_per_target=True) inside KFold(5) is the reference.
//
// An Engine opens a Session on brain data once (the data then stays resident, on the GPU where
// there is one) and scores many activation matrices against it: the layers and checkpoints of a
// sweep. The CPU engine lives in package fallback, the CUDA engine in package engine/cuda (build
// tag cuda); both pass the conformance suite in engine/enginetest.
package engine
