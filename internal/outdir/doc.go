// Package outdir writes a command's output directory all at once: files go to a hidden staging
// directory beside the target, which is renamed into place only when every file is written, so
// an interrupted or failed run never leaves a half-written output directory, and an existing one
// is replaced only when asked.
//
// The rules, in the order Create applies them:
//
//   - Symbolic links are written through. When the output path itself is a symbolic link (to a
//     directory, or dangling), the output goes to the link's target: the staging directory is
//     made beside the target and renamed onto it, and the link is left as it is, still pointing
//     at the new results. A link to something other than a directory is refused.
//   - The output directory may not be the current working directory or one of its parents
//     (`--out .`, `--out ..`, `--out /`): replacing it would move the directory the process, and
//     usually the user's shell, is standing in.
//   - The output directory may not be a mount point (a container's volume, a bind mount):
//     rename cannot move it. A folder inside it can be the output directory.
//   - A directory that does not exist, or exists and is empty, is written without asking; a
//     non-empty one is replaced only with overwrite, and removed only after the new one is in
//     place. On Linux the two are exchanged in one step (renameat2's RENAME_EXCHANGE), so that
//     the output path names a complete results folder throughout, to a reader and across a
//     kill; where the file system refuses that (some network and FUSE file systems), and on
//     other systems, the previous results are renamed away (.NAME.tmp-....old) and then the new
//     ones in, a moment in which the path names nothing.
//   - Permissions are those of any new directory: 0777 less the umask, so group members can read
//     results where the umask lets them (files written inside with atomicfile get 0666 less the
//     umask). A directory that replaces an existing one takes over its permission bits
//     (including setgid and sticky).
//   - Staging directories are named .NAME.tmp-HOST-PID-RANDOM (internal/owner), HOST a hash of
//     the host name and (on Linux) the PID namespace and boot ID. A run that is killed (SIGKILL,
//     out of memory, the end of a batch job's time) leaves its staging directory behind; the next
//     run that stages the same NAME removes it when it was left by a process on the same host
//     that no longer exists. A staging directory of a live process, of another host (a shard on
//     another node of a shared file system, a run killed before a reboot), or whose process
//     cannot be checked (Windows, names from older versions) is removed only once it is more than
//     a week old. A leftover .old directory (the previous results, being deleted after a
//     replacement) is removed only when the output directory exists, as it then holds nothing
//     that is not superseded (so a run that finds none there removes it once its own results are
//     in place); after an exchange the previous results are under the staging
//     name itself, and the output directory holds the new ones, so a kill before they are
//     deleted leaves a staging directory of a dead run like any other.
//
// CheckWritable finds, before a long run computes anything, an output path that could not be
// written; Target says where a path (a link) leads, for commands that make their output
// directory and write into it rather than replace it (sweep). MakeParents makes an output's
// missing parent folders, and RemoveMade removes them again when the output is not made.
package outdir
