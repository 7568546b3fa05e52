// Command brainalign measures how closely a vision model's representations match brain
// recordings: ridge encoding scores per target, layer and checkpoint sweeps, and the study's
// metrics. Run `brainalign --help`.
package main
