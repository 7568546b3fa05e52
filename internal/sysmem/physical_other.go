//go:build !darwin && !windows

package sysmem

// physicalMemory is unknown here: Linux reports MemAvailable instead, and elsewhere there is
// no portable source without cgo.
func physicalMemory() int64 { return 0 }
