package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"

	"github.com/brainalign/brainalign/engine"
	"github.com/brainalign/brainalign/internal/sysmem"
)

// hostInfo describes the machine of a run, for summary.json and bench records: timings mean
// little without it.
type hostInfo struct {
	Hostname string `json:"hostname,omitempty"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	CPU      string `json:"cpu,omitempty"`
	Cores    int    `json:"cores"` // GOMAXPROCS: what the CPU engine runs on
	Go       string `json:"go"`
	// AvailableMemory is what the process could take at the start (sysmem: MemAvailable, or
	// the cgroup's headroom under a Slurm job's or container's limit); 0 when unknown.
	AvailableMemory int64 `json:"available_memory_bytes,omitempty"`
}

func hostOf() hostInfo {
	h := hostInfo{OS: runtime.GOOS, Arch: runtime.GOARCH, CPU: cpuModel(), Cores: runtime.GOMAXPROCS(0), Go: runtime.Version()}
	h.Hostname, _ = os.Hostname()
	if avail, ok := sysmem.Available(); ok {
		h.AvailableMemory = avail
	}
	return h
}

// String is the one-line form bench prints: linux/amd64, AMD EPYC 9R14, 2 cores, 23.1 GiB available.
func (h hostInfo) String() string {
	parts := []string{h.OS + "/" + h.Arch}
	if h.CPU != "" {
		parts = append(parts, h.CPU)
	}
	parts = append(parts, fmt.Sprintf("%d cores", h.Cores))
	if h.AvailableMemory > 0 {
		parts = append(parts, engine.FormatBytes(h.AvailableMemory)+" available")
	}
	return strings.Join(parts, ", ")
}

// cpuModel is the processor's name: /proc/cpuinfo's "model name" on Linux (x86; arm64 kernels
// do not report one), the brand string on macOS (host_darwin.go); "" when unknown.
func cpuModel() string {
	if m := brandString(); m != "" {
		return m
	}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.Join(strings.Fields(val), " ")
		}
	}
	return ""
}

// checkMemoryFor refuses, before it is allocated, data of about need bytes (a float: huge flag
// values overflow an int) that the memory this process can take cannot hold: the allocation would
// end the process with the runtime's fatal out-of-memory error and a dump of every goroutine,
// leaving any staging folder behind. what says what needs it (the flags that set its size); nil
// when it fits, or when the available memory is unknown.
func checkMemoryFor(what string, need float64) error {
	avail, ok := sysmem.Available()
	if !ok || need <= float64(avail) {
		return nil
	}
	return fmt.Errorf("%s: about %s of memory needed, but %s is available", what, formatBytesFloat(need), engine.FormatBytes(avail))
}

// formatBytesFloat is engine.FormatBytes of a size that may exceed an int64.
func formatBytesFloat(b float64) string {
	if b >= math.MaxInt64 {
		return fmt.Sprintf("%.3g GiB", b/(1<<30))
	}
	return engine.FormatBytes(int64(b))
}
