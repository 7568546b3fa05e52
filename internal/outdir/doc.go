// Package outdir writes a command's output directory all at once: files go to a hidden staging
// directory beside the target, which is renamed into place only when every file is written, so
// an interrupted or failed run never leaves a half-written output directory, and an existing one
// is replaced only when asked.
package outdir
