// Package owner names temporary files and directories after the process that makes them
// (HOST-PID-RANDOM), so that a later run can tell what a killed process left behind from what a
// live one is still writing: a batch job killed at the end of its time, by the out-of-memory
// killer or by a preemption leaves its temporary outputs where they were.
//
// HOST is a hash of the host name and (on Linux) the PID namespace and the kernel's boot ID, so a
// PID is only ever looked up on the host, in the namespace and the boot it belongs to, also where
// machines sharing a file system have one host name. Something named by a process of this host
// that no longer exists is abandoned at once; something of a live process never is; something
// whose process cannot be checked (another host sharing the file system, where a run can last
// days; a process killed before a reboot; Windows; names without a tag) is abandoned only once
// it is older than MaxAge.
package owner
