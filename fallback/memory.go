package fallback

import "github.com/brainalign/brainalign/internal/sysmem"

// defaultMemoryLimit is half the memory this process can still take (sysmem: the kernel's
// MemAvailable, lowered to a Slurm job's or container's cgroup limit), or 4 GiB where unknown.
func defaultMemoryLimit() int64 {
	if avail, ok := sysmem.Available(); ok {
		return max(avail/2, 1)
	}
	return 4 << 30
}
