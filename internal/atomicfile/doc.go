// Package atomicfile writes files so that a reader sees either the old content or the complete
// new content, never a partial file: results of a long run are often read by the next stage (or
// a restarted job, docs/design.md §6) while another process is writing them.
//
// Temp files are named .NAME.tmp-HOST-PID-RANDOM (internal/owner), so that RemoveAbandoned can
// clear what a killed writer left without touching a live one's. A Batch replaces several files
// of a folder together: written under temp names, renamed into place once the last is written.
package atomicfile
