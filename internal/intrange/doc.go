// Package intrange converts integers read from files (labels stored as int64, or read as float64
// from uint64 and floating-point arrays) to int, refusing those beyond int's range: int(v) would
// wrap them on 32-bit systems (386, arm), merging or renumbering labels silently.
package intrange
