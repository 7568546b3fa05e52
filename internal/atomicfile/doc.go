// Package atomicfile writes files so that a reader sees either the old content or the complete
// new content, never a partial file: results of a long run are often read by the next stage (or
// a restarted job, DESIGN.md §6) while another process is writing them.
package atomicfile
