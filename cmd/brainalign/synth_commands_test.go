//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// commands.sh finds the study from its own path: it runs from any working directory, and after
// the study folder is moved. A stub stands in for brainalign and checks that every input path it
// is given exists.
func TestSynthCommandsRunFromAnywhere(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	mustRun(t, "synth", "--out", filepath.Join(dir, "study"), "--subjects", "1")
	moved := filepath.Join(dir, "elsewhere", "study")
	os.MkdirAll(filepath.Dir(moved), 0o755)
	if err := os.Rename(filepath.Join(dir, "study"), moved); err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(dir, "stub.sh")
	log := filepath.Join(dir, "calls.txt")
	os.WriteFile(stub, []byte(`#!/bin/sh
echo "$*" >> `+log+`
while [ $# -gt 0 ]; do
  case "$1" in
  --features|--brain|--coords|--roi|--roi-names|--times) [ -e "$2" ] || { echo "missing $1 $2" >&2; exit 1; }; shift ;;
  esac
  shift
done
`), 0o755)
	cwd := filepath.Join(dir, "work")
	os.MkdirAll(cwd, 0o755)
	cmd := exec.Command("sh", filepath.Join("..", "elsewhere", "study", "commands.sh"))
	cmd.Dir = cwd
	cmd.Env = append(os.Environ(), "BRAINALIGN="+stub)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("commands.sh from another folder: %v\n%s", err, out)
	}
	calls, _ := os.ReadFile(log)
	if n := strings.Count(string(calls), "sweep "); n != 2 { // fMRI and MEG of one subject
		t.Errorf("%d sweeps called, want 2:\n%s", n, calls)
	}
}

// A line break in the study folder's name stays inside commands.sh's opening comment: the rest
// of the name was run as a command (here, touch ran).
func TestSynthCommandsFolderWithLineBreak(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	study := filepath.Join(dir, "study\ntouch ran")
	mustRun(t, "synth", "--out", study, "--subjects", "1")
	cmd := exec.Command("sh", filepath.Join(study, "commands.sh"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BRAINALIGN=true") // every brainalign call does nothing
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("commands.sh: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("commands.sh ran the part of the folder's name after its line break")
	}
}
