// Command brainalign measures how closely a vision model's representations match brain
// recordings: ridge encoding scores per target, layer and checkpoint sweeps, the study's metrics,
// and representational similarity (RSA, linear CKA). Run `brainalign --help`.
package main
