// Package sysmem reports how much memory this process can still take without being killed or
// paging, for the engines' default working-memory cap.
//
// On Linux that is the kernel's MemAvailable, lowered to the headroom left under every memory
// limit of the cgroups the process is in and their ancestors (v2 memory.max and memory.high, v1
// memory.limit_in_bytes): a Slurm job's --mem, a container's limit. MemAvailable alone describes the
// whole node, so on a 512 GiB node a job given 16 GiB would size its batches for hundreds of
// GiB and be killed by the cgroup. Headroom is the limit less the usage, plus the file cache the
// kernel reclaims under the limit (the usage counts it): the inactive part, and half the active
// part (MemAvailable counts nearly all of the page cache; half is kept back for the pages of
// files in use). On macOS it is the physical
// memory (hw.memsize), on Windows the available physical memory (GlobalMemoryStatusEx);
// elsewhere it is unknown.
package sysmem
