package sysmem

import (
	"os"
	"runtime"
	"testing"
	"testing/fstest"
)

const gib = int64(1) << 30

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestAvailable(t *testing.T) {
	meminfo := file("MemTotal:       527000000 kB\nMemFree:        1000 kB\nMemAvailable:   524288000 kB\n") // 500 GiB
	for _, tc := range []struct {
		name     string
		fs       fstest.MapFS
		physical int64
		want     int64
		ok       bool
	}{
		{name: "no cgroup limit: MemAvailable", want: 500 * gib, ok: true, fs: fstest.MapFS{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": file("0::/user.slice/session-1.scope\n"),
		}},
		{name: "Slurm, cgroup v1: the job's --mem less its usage plus inactive cache", want: 15 * gib, ok: true, fs: fstest.MapFS{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": file("11:cpuset:/slurm/uid_1000/job_42/step_0\n4:memory:/slurm/uid_1000/job_42/step_0/task_0\n1:name=systemd:/\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes":                                     file("9223372036854771712\n"),
			"sys/fs/cgroup/memory/slurm/uid_1000/job_42/memory.limit_in_bytes":               file("17179869184\n"),
			"sys/fs/cgroup/memory/slurm/uid_1000/job_42/memory.usage_in_bytes":               file("2147483648\n"),
			"sys/fs/cgroup/memory/slurm/uid_1000/job_42/memory.stat":                         file("cache 2147483648\ninactive_file 1\ntotal_inactive_file 1073741824\n"),
			"sys/fs/cgroup/memory/slurm/uid_1000/job_42/step_0/task_0/memory.limit_in_bytes": file("9223372036854771712\n"),
		}},
		{name: "Slurm, cgroup v2: an ancestor's limit, the unlimited task below it ignored", want: 7*gib + gib/2, ok: true, fs: fstest.MapFS{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": file("0::/system.slice/slurmstepd.scope/job_7/step_0/user/task_0\n"),
			"sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/memory.max":                    file("8589934592\n"),
			"sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/memory.current":                file("1073741824\n"),
			"sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/memory.stat":                   file("anon 1\nfile 900000000\ninactive_file 536870912\nactive_file 1\n"),
			"sys/fs/cgroup/system.slice/slurmstepd.scope/job_7/step_0/user/task_0/memory.max": file("max\n"),
		}},
		{name: "a job's limit filled by the page cache of files read: active cache half reclaimable", want: 6 * gib, ok: true, fs: fstest.MapFS{
			"proc/meminfo":                     meminfo,
			"proc/self/cgroup":                 file("0::/job\n"),
			"sys/fs/cgroup/job/memory.max":     file("17179869184\n"),
			"sys/fs/cgroup/job/memory.current": file("17179869184\n"),
			"sys/fs/cgroup/job/memory.stat":    file("anon 4294967296\nactive_file 12884901888\ninactive_file 0\n"),
		}},
		{name: "nested limits: the tighter parent wins", want: 3 * gib, ok: true, fs: fstest.MapFS{
			"proc/meminfo":               meminfo,
			"proc/self/cgroup":           file("0::/a/b\n"),
			"sys/fs/cgroup/a/memory.max": file("4294967296\n"), "sys/fs/cgroup/a/memory.current": file("1073741824\n"),
			"sys/fs/cgroup/a/b/memory.max": file("10737418240\n"), "sys/fs/cgroup/a/b/memory.current": file("0\n"),
		}},
		{name: "v2 memory.high below memory.max", want: 2 * gib, ok: true, fs: fstest.MapFS{
			"proc/meminfo":                     meminfo,
			"proc/self/cgroup":                 file("0::/svc\n"),
			"sys/fs/cgroup/svc/memory.max":     file("8589934592\n"),
			"sys/fs/cgroup/svc/memory.high":    file("3221225472\n"),
			"sys/fs/cgroup/svc/memory.current": file("1073741824\n"),
		}},
		{name: "container with its own cgroup namespace (v2 root)", want: 3 * gib, ok: true, fs: fstest.MapFS{
			"proc/meminfo":                 meminfo,
			"proc/self/cgroup":             file("0::/\n"),
			"sys/fs/cgroup/memory.max":     file("4294967296\n"),
			"sys/fs/cgroup/memory.current": file("1073741824\n"),
		}},
		{name: "container, v1, host path hidden: the walk reaches the container's root", want: 2 * gib, ok: true, fs: fstest.MapFS{
			"proc/meminfo":     meminfo,
			"proc/self/cgroup": file("5:memory:/docker/0123abcd\n"),
			"sys/fs/cgroup/memory/memory.limit_in_bytes": file("3221225472\n"),
			"sys/fs/cgroup/memory/memory.usage_in_bytes": file("1073741824\n"),
		}},
		{name: "usage past the limit: none left", want: 0, ok: true, fs: fstest.MapFS{
			"proc/meminfo":                     meminfo,
			"proc/self/cgroup":                 file("0::/job\n"),
			"sys/fs/cgroup/job/memory.max":     file("1073741824\n"),
			"sys/fs/cgroup/job/memory.current": file("2147483648\n"),
		}},
		{name: "a limit above MemAvailable: MemAvailable", want: 500 * gib, ok: true, fs: fstest.MapFS{
			"proc/meminfo":                 meminfo,
			"proc/self/cgroup":             file("0::/job\n"),
			"sys/fs/cgroup/job/memory.max": file("1099511627776\n"), "sys/fs/cgroup/job/memory.current": file("0\n"),
		}},
		{name: "macOS: physical memory", physical: 16 * gib, want: 16 * gib, ok: true, fs: fstest.MapFS{}},
		{name: "unknown", fs: fstest.MapFS{"proc/meminfo": file("garbage\n"), "proc/self/cgroup": file("not a cgroup line\n")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := available(tc.fs, tc.physical)
			if got != tc.want || ok != tc.ok {
				t.Errorf("available = %d (%.2f GiB), %v; want %d (%.2f GiB), %v", got, float64(got)/float64(gib), ok, tc.want, float64(tc.want)/float64(gib), tc.ok)
			}
		})
	}
}

// TestAvailableHere runs against this machine's own files: a Linux machine reports some memory,
// and no more than /proc/meminfo's MemAvailable (read again, with slack for what changed since).
func TestAvailableHere(t *testing.T) {
	got, ok := Available()
	t.Logf("available: %.2f GiB (known: %v)", float64(got)/float64(gib), ok)
	if got < 0 {
		t.Fatalf("negative: %d", got)
	}
	if runtime.GOOS != "linux" {
		return
	}
	host := meminfoAvailable(os.DirFS("/"))
	if !ok || got > host+host/10 {
		t.Errorf("Available = %d, %v; MemAvailable %d", got, ok, host)
	}
}
