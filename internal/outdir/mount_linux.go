package outdir

import "golang.org/x/sys/unix"

// mountPoint reports whether the directory dir is the root of a mount (a container's volume, a
// bind mount), which rename cannot move: statx says so from Linux 5.8, bind mounts within one
// file system included; older kernels are asked whether dir's device differs from its parent's.
func mountPoint(dir string) bool {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, dir, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BASIC_STATS, &stx); err == nil &&
		stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 {
		return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
	}
	return otherDevice(dir)
}
