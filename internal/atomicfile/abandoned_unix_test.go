//go:build unix

package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/brainalign/brainalign/internal/owner"
	"github.com/brainalign/brainalign/internal/owner/ownertest"
)

func TestRemoveAbandoned(t *testing.T) {
	root := t.TempDir()
	sub := filepath.Join(root, "units", "ck")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-owner.MaxAge - time.Hour)
	me, dead := owner.Host(), strconv.Itoa(ownertest.DeadPID(t))
	live, self := strconv.Itoa(os.Getppid()), strconv.Itoa(os.Getpid())
	other := "0badf00d"
	if other == me {
		other = "0badf00e"
	}
	type entry struct {
		name  string
		old   bool // modified longer ago than owner.MaxAge
		dir   bool
		stays bool
	}
	entries := []entry{
		{name: ".a.npy.tmp-" + me + "-" + dead + "-0000abcd"},                         // killed writer here
		{name: "units/ck/.l1.scores.npy.tmp-" + me + "-" + dead + "-0000abce"},        // below: recursive
		{name: ".a.npy.tmp-" + me + "-" + live + "-0000abcf", old: true, stays: true}, // live writer, however old
		{name: ".a.npy.tmp-" + me + "-" + self + "-0000abd0", stays: true},            // this process
		{name: ".a.npy.tmp-" + other + "-" + dead + "-0000abd1", stays: true},         // another host: by age
		{name: ".a.npy.tmp-" + other + "-" + dead + "-0000abd2", old: true},           // ... old enough
		{name: ".a.npy.tmp0000abd3", stays: true},                                     // older versions' names: by age
		{name: ".a.npy.tmp0000abd4", old: true},                                       // ... old enough
		{name: ".a.npy.tmp-x-1-2", old: true, stays: true},                            // not a temp name
		{name: "a.npy.tmp-" + me + "-" + dead + "-0000abd5", stays: true},             // not hidden: not ours
		{name: ".a.npy.tmp-" + me + "-" + dead + "-0000abd6", dir: true, stays: true}, // a directory (internal/outdir's staging)
		{name: "a.npy", old: true, stays: true},
	}
	for _, e := range entries {
		p := filepath.Join(root, e.name)
		if e.dir {
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		if e.old {
			os.Chtimes(p, old, old)
		}
	}
	check := func(removed int, wantRemoved func(e entry) bool) {
		t.Helper()
		n := 0
		for _, e := range entries {
			_, err := os.Lstat(filepath.Join(root, e.name))
			want := wantRemoved(e)
			if want {
				n++
			}
			if want && err == nil {
				t.Errorf("%s not removed", e.name)
			}
			if !want && err != nil {
				t.Errorf("%s removed", e.name)
			}
		}
		if removed != n {
			t.Errorf("RemoveAbandoned says %d removed, want %d", removed, n)
		}
	}
	// Not recursive: the directory below keeps its temp file.
	got := RemoveAbandoned(root, false)
	check(got, func(e entry) bool { return !e.stays && !strings.Contains(e.name, "/") })
	got += RemoveAbandoned(root, true)
	check(got, func(e entry) bool { return !e.stays })
}

// A temp file being written is never removed from under its writer.
func TestRemoveAbandonedSparesLiveWriter(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "scores.npy")
	removed := -1
	err := Write(p, func(w io.Writer) error {
		if _, err := io.WriteString(w, "first half "); err != nil {
			return err
		}
		if f, ok := w.(interface{ Flush() error }); ok {
			f.Flush()
		}
		removed = RemoveAbandoned(dir, true) // another shard starts meanwhile
		_, err := io.WriteString(w, "second half")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if removed != 0 {
		t.Fatalf("RemoveAbandoned removed %d files while a write was in flight", removed)
	}
	if b, _ := os.ReadFile(p); string(b) != "first half second half" {
		t.Fatalf("content %q", b)
	}
}
