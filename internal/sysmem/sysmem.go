package sysmem

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// Available returns the bytes this process can still use, and false when that is unknown.
func Available() (int64, bool) { return available(os.DirFS("/"), physicalMemory()) }

// available is Available on the file system fsys (rooted at /), with physical the memory the
// operating system reports when /proc/meminfo is absent (0 if unknown).
func available(fsys fs.FS, physical int64) (int64, bool) {
	avail := meminfoAvailable(fsys)
	if avail <= 0 {
		avail = physical
	}
	if room, limited := cgroupHeadroom(fsys); limited && (avail <= 0 || room < avail) {
		return room, true
	}
	return avail, avail > 0
}

// meminfoAvailable reads MemAvailable from /proc/meminfo (0 when absent).
func meminfoAvailable(fsys fs.FS) int64 {
	b, err := fs.ReadFile(fsys, "proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemAvailable:" {
			if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil && kb > 0 {
				return kb << 10
			}
		}
	}
	return 0
}

// A cgroup hierarchy's memory files: v2 (unified) or v1 (the memory controller's own tree).
// v2's memory.high is a limit too: past it the kernel throttles the process and reclaims hard.
type cgroupFiles struct {
	root            string
	limits          []string
	usage, inactive string
	active          string // the active file cache, which reclaim deactivates and then frees
}

var (
	cgroupV2 = cgroupFiles{"sys/fs/cgroup", []string{"memory.max", "memory.high"}, "memory.current", "inactive_file", "active_file"}
	cgroupV1 = cgroupFiles{"sys/fs/cgroup/memory", []string{"memory.limit_in_bytes"}, "memory.usage_in_bytes", "total_inactive_file", "total_active_file"}
)

// cgroupHeadroom returns the least headroom over the memory-limited cgroups of this process and
// their ancestors, and whether any had a limit.
func cgroupHeadroom(fsys fs.FS) (room int64, limited bool) {
	b, err := fs.ReadFile(fsys, "proc/self/cgroup")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		// hierarchy-ID:controllers:path; v2 is "0::/path".
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			continue
		}
		files := cgroupV1
		switch {
		case f[0] == "0" && f[1] == "":
			files = cgroupV2
		case !hasController(f[1], "memory"):
			continue
		}
		// The path is as the process sees it; in a container whose cgroup namespace hides the
		// host's tree it may not exist, and the walk up reaches the container's own root.
		dir := path.Join(files.root, strings.TrimPrefix(path.Clean("/"+f[2]), "/"))
		for {
			if r, ok := files.headroom(fsys, dir); ok && (!limited || r < room) {
				room, limited = r, true
			}
			if dir == files.root {
				break
			}
			dir = path.Dir(dir)
		}
	}
	return room, limited
}

func hasController(list, name string) bool {
	for _, c := range strings.Split(list, ",") {
		if c == name {
			return true
		}
	}
	return false
}

// noLimit: v1 reports "no limit" as a huge page-rounded number (9223372036854771712).
const noLimit = 1 << 62

// headroom reads one cgroup's limit and usage: limit - usage + the inactive file cache + half
// the active file cache, at least 0. The usage counts the page cache of files read (a mapped
// trials file read in several passes fills a job's limit with it), which the kernel reclaims
// under the limit, as MemAvailable counts it; half of the active part is kept back as the hot
// pages of files in use.
// ok is false when the cgroup has no limit or its files are missing.
func (c cgroupFiles) headroom(fsys fs.FS, dir string) (room int64, ok bool) {
	limit := int64(noLimit)
	for _, name := range c.limits {
		if v, ok := readInt(fsys, path.Join(dir, name)); ok {
			limit = min(limit, v)
		}
	}
	if limit >= noLimit {
		return 0, false
	}
	usage, _ := readInt(fsys, path.Join(dir, c.usage))
	room = limit - usage
	if b, err := fs.ReadFile(fsys, path.Join(dir, "memory.stat")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) != 2 || f[0] != c.inactive && f[0] != c.active {
				continue
			}
			if v, err := strconv.ParseInt(f[1], 10, 64); err == nil && v > 0 {
				if f[0] == c.active {
					v /= 2
				}
				room += v
			}
		}
	}
	return max(room, 0), true
}

// readInt reads a file holding one integer ("max", v2's no limit, reads as not ok).
func readInt(fsys fs.FS, name string) (int64, bool) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v, err == nil
}
