// Package universal finds the dimensions of a vision model's representation that other models
// share, and asks whether those are the ones the brain shares too (the "universal dimensions"
// analysis, Chen & Bonner 2024): for each model, the principal components of its activations
// over the images are its dimensions, and for each dimension
//
//	universality     = mean over the other models of the encoding score of predicting the
//	                   dimension from that model's activations
//	brain similarity = the encoding score of predicting the dimension from the brain responses
//
// both with the same cross-validated ridge regression (any engine.Engine: penalty per
// dimension by leave-one-out in each training fold, Pearson r on held-out folds). Across
// dimensions, Pearson r(universality, brain similarity) says whether what models share is
// what brains share. The reduction test then encodes the brain data from only a model's Top
// most universal dimensions, against its full activations and its Top highest-variance
// dimensions: a representation reduced to its universal dimensions should keep its brain
// alignment.
//
// The components are computed on all images (they define the targets; no brain data or
// held-out score enters them), with each model's activations centred, in float64.
package universal
