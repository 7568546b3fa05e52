//go:build !darwin

package main

// brandString: outside macOS the name comes from /proc/cpuinfo (cpuModel).
func brandString() string { return "" }
