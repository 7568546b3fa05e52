//go:build unix

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/brainalign/brainalign/internal/owner"
	"github.com/brainalign/brainalign/internal/owner/ownertest"
)

// An earlier study that a killed demo --overwrite set aside beside --study-out is removed by the
// next replacement once its process is gone; a live process's is kept, as is anything else there
// (a user's .study.old-march, however old).
func TestReplaceStudyOutRemovesAbandoned(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "study")
	dead := "." + "study" + oldStudyInfix + owner.Host() + "-" + strconv.Itoa(ownertest.DeadPID(t)) + "-0000abcd"
	live := "." + "study" + oldStudyInfix + owner.Host() + "-" + strconv.Itoa(os.Getppid()) + "-0000abce"
	other := ".other" + oldStudyInfix + owner.Host() + "-" + strconv.Itoa(ownertest.DeadPID(t)) + "-0000abcf"
	// an earlier version's name (the PID alone) and a user's own folder, both long untouched
	earlier := "." + "study" + oldStudyInfix + strconv.Itoa(ownertest.DeadPID(t))
	users := "." + "study" + oldStudyInfix + "march"
	for _, d := range []string{dead, live, other, earlier, users} {
		must(t, os.MkdirAll(filepath.Join(root, d, "sub-01"), 0o755))
	}
	long := time.Now().Add(-owner.MaxAge - time.Hour)
	for _, d := range []string{earlier, users} {
		must(t, os.Chtimes(filepath.Join(root, d), long, long))
	}
	must(t, os.MkdirAll(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "old"), []byte("1"), 0o644))
	if err := replaceStudyOut(dir, func() error {
		must(t, os.MkdirAll(dir, 0o755))
		return os.WriteFile(filepath.Join(dir, "new"), []byte("2"), 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(root)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{other, live, users, "study"}; !slices.Equal(names, want) {
		t.Errorf("beside the study: %v, want %v", names, want)
	}
}
