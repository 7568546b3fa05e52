package sweep

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/brainalign/brainalign/internal/owner"
)

// breakLock removes an abandoned lock only while it still holds what was found abandoned, one
// breaker at a time: a live merger's lock taken meanwhile is left alone, a breaker's mark
// (p.break) held by a live breaker makes the others wait, and a mark left by a killed one goes.
func TestBreakLock(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, mergeLockFile)
	old := time.Now().Add(-mergeLockStale - time.Minute)
	abandoned := func() string {
		t.Helper()
		content := "0badf00d-12345-0000abcd\n" // another node's merger, untouched too long
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
		return content
	}
	live := owner.NewTag() + "\n"

	c := abandoned()
	if !breakLock(p, c) {
		t.Fatal("abandoned lock not broken")
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("abandoned lock still there: %v", err)
	}
	// found abandoned, but a live merger's lock is there now
	if err := os.WriteFile(p, []byte(live), 0o644); err != nil {
		t.Fatal(err)
	}
	if breakLock(p, c) {
		t.Error("a live lock broken")
	}
	if b, _ := os.ReadFile(p); string(b) != live {
		t.Errorf("live lock now %q", b)
	}
	// another breaker at work (its mark held by a live process): wait, break nothing
	c = abandoned()
	mark := p + ".break"
	if err := os.WriteFile(mark, []byte(live), 0o644); err != nil {
		t.Fatal(err)
	}
	if breakLock(p, c) {
		t.Error("broken while another breaker held the mark")
	}
	if _, err := os.Stat(p); err != nil {
		t.Errorf("lock gone while another breaker held the mark: %v", err)
	}
	// that breaker killed long ago: its mark removed, the next try breaks the lock
	os.Chtimes(mark, old, old)
	if breakLock(p, c) {
		t.Error("broken in the same try as the stale mark")
	}
	if !breakLock(p, c) {
		t.Error("not broken after the stale mark went")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}

	// Many mergers finding the same lock abandoned at once, and a live merger taking the lock as
	// soon as it is gone: the live lock stays. (Not with a killed breaker's mark among them: its
	// removal racing a new breaker's mark is the race breakLock documents, which a loaded machine
	// hits about once in a few hundred rounds; the stale mark is tested one breaker at a time above.)
	for round := range 400 {
		c := abandoned()
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				for range 4 {
					breakLock(p, c)
				}
			})
		}
		wg.Go(func() {
			for {
				f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
				if err == nil {
					f.WriteString(live)
					f.Close()
					return
				}
			}
		})
		wg.Wait()
		if b, err := os.ReadFile(p); err != nil || string(b) != live {
			t.Fatalf("round %d: the live merger's lock is %q (%v)", round, b, err)
		}
		os.Remove(p)
		if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
			t.Fatalf("round %d: left behind: %v", round, left)
		}
	}
}
