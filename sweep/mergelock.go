package sweep

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/brainalign/brainalign/internal/crashpoint"
	"github.com/brainalign/brainalign/internal/owner"
)

// One merge at a time per sweep folder. The last shards of a job array can finish together, and
// a --merge-only can meet a shard's merge: each merge removes merged.json before rewriting the
// tables, so a merger reading the tables back (its summary) could find them "not current" in
// the middle of the other's merge. A merge holds OUT/merge.lock, created exclusively (a hard link
// of a file holding its content, atomic on local and network file systems alike; O_EXCL where
// links cannot be made, createExclusive), holding the merger's HOST-PID-RANDOM tag
// (internal/owner); the others wait for it, and then merge only if the tables are not current.
//
// A merger killed mid-merge (a time limit, the out-of-memory killer) leaves its lock behind. A
// live merger touches its lock every mergeLockBeat; a lock is abandoned when its process, on
// this host, no longer runs, or when it has not been touched for mergeLockStale (its merger on
// another node, whose process cannot be checked, is dead or hung).

const mergeLockFile = "merge.lock"

// MergeLockStale is how long a merge lock stands untouched before it is taken as abandoned.
const MergeLockStale = 10 * time.Minute

var (
	mergeLockBeat  = time.Minute
	mergeLockStale = MergeLockStale
	// mergeLockWait is how a merger waits for another's lock to go (tests replace it); it
	// returns early, with ctx's error, when ctx is done (a signal stops a waiting merger).
	mergeLockWait = func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
			return nil
		}
	}
)

// MergeLock describes the lock of a merge in progress (or left by a killed one) in a sweep
// folder.
type MergeLock struct {
	Holder    string    // the merger's HOST-PID-RANDOM tag ("" while it is being written)
	Touched   time.Time // when the merger last touched it
	Abandoned bool      // its merger no longer runs: the next merge removes it
}

// ReadMergeLock reads dir's merge lock; nil when no merge holds it.
func ReadMergeLock(dir string) *MergeLock {
	p := filepath.Join(dir, mergeLockFile)
	st, err := os.Stat(p)
	if err != nil {
		return nil
	}
	b, _ := os.ReadFile(p)
	tag := strings.TrimSpace(string(b))
	return &MergeLock{Holder: tag, Touched: st.ModTime(), Abandoned: lockAbandoned(tag, st.ModTime(), time.Now())}
}

func lockAbandoned(tag string, touched, now time.Time) bool {
	return now.Sub(touched) > mergeLockStale || (tag != "" && owner.Abandoned(tag, touched, now))
}

// lockMerge takes dir's merge lock, waiting while another live merger holds it (told to
// waiting, if set, when it begins to wait); waited says it did. unlock releases the lock (only
// if it is still this merger's).
func lockMerge(ctx context.Context, dir string, waiting func(*MergeLock)) (unlock func(), waited bool, err error) {
	p := filepath.Join(dir, mergeLockFile)
	tag := owner.NewTag()
	for {
		err := createExclusive(p, tag+"\n")
		if err == nil {
			crashpoint.Step("took", p)
			// A breaker killed once it had removed a lock leaves its mark: nothing else
			// would remove it until another lock is to be broken.
			removeStaleMark(p + ".break")
			return holdLock(p, tag), waited, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, waited, fmt.Errorf("%s: cannot create the merge lock: %v", dir, err)
		}
		st, serr := os.Stat(p)
		if serr != nil {
			continue // released meanwhile
		}
		b, _ := os.ReadFile(p)
		held := string(b)
		if lockAbandoned(strings.TrimSpace(held), st.ModTime(), time.Now()) && breakLock(p, held) {
			continue
		}
		if !waited && waiting != nil {
			waiting(&MergeLock{Holder: strings.TrimSpace(held), Touched: st.ModTime()})
		}
		waited = true
		if err := mergeLockWait(ctx); err != nil {
			return nil, waited, err
		}
	}
}

// removeAbandonedLock removes dir's merge lock when its merger no longer runs (as a merge
// taking the lock would), and reports whether it did; and the mark of a breaker that no longer
// runs.
func removeAbandonedLock(dir string) bool {
	p := filepath.Join(dir, mergeLockFile)
	defer removeStaleMark(p + ".break")
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	b, err := os.ReadFile(p)
	if err != nil || !lockAbandoned(strings.TrimSpace(string(b)), st.ModTime(), time.Now()) {
		return false
	}
	return breakLock(p, string(b)) && !fileExists(p)
}

// holdLock keeps the lock at p touched while it is held, and returns its release.
func holdLock(p, tag string) func() {
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(mergeLockBeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				os.Chtimes(p, now, now)
			}
		}
	}()
	return func() {
		close(stop)
		<-stopped
		if b, err := os.ReadFile(p); err == nil && strings.TrimSpace(string(b)) == tag && os.Remove(p) == nil {
			crashpoint.Step("released", p)
		}
	}
}

// breakLock removes the abandoned lock at p that held content, and reports whether it did (or
// found it gone). Mergers that find a lock abandoned at once break it one at a time, each under
// p.break (created exclusively, as the lock, holding its tag): there the lock is read again and removed only
// if it still holds content and is still abandoned, and the mark still holds the breaker's tag,
// so a lock a live merger took meanwhile (after another breaker removed the old one) is left
// alone. A mark whose breaker is gone (its process here, or untouched as long as a merge lock
// may stand) is moved aside and removed, and the others wait. POSIX has no compare-and-remove,
// so a race remains where a killed breaker's mark is met by several mergers within microseconds
// (six breakers at once with such a mark: 1 round in 3,000 on quiet cores, 1 in a few hundred
// on loaded ones): two merges then run side by side, writing the same tables from the same
// records.
func breakLock(p, content string) bool {
	b := p + ".break"
	tag := owner.NewTag() + "\n"
	if err := createExclusive(b, tag); err != nil {
		removeStaleMark(b)
		return false
	}
	crashpoint.Step("created", b)
	mine := func() bool { held, err := os.ReadFile(b); return err == nil && string(held) == tag }
	defer func() {
		if mine() {
			os.Remove(b)
		}
	}()
	st, err := os.Stat(p)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	now, err := os.ReadFile(p)
	if err != nil || string(now) != content || !lockAbandoned(strings.TrimSpace(content), st.ModTime(), time.Now()) || !mine() {
		return false
	}
	if os.Remove(p) != nil {
		return false
	}
	crashpoint.Step("broke", p)
	return true
}

// removeStaleMark removes the breaker's mark at b when its breaker is gone: moved aside first (of
// mergers that find it stale at once, one moves it), and removed if what was moved is what was
// found stale; a live breaker's mark moved instead is removed as well, and that breaker, whose
// tag is no longer there, breaks nothing and tries again.
func removeStaleMark(b string) {
	st, err := os.Stat(b)
	if err != nil {
		return
	}
	held, _ := os.ReadFile(b)
	h := strings.TrimSpace(string(held))
	if !(time.Since(st.ModTime()) > mergeLockStale || h != "" && owner.Abandoned(h, st.ModTime(), time.Now())) {
		return
	}
	// under atomicfile's temp name, which the next run or merge removes (RemoveAbandoned) if this
	// process is killed before it does
	aside := filepath.Join(filepath.Dir(b), "."+filepath.Base(b)+".tmp-"+owner.NewTag())
	if os.Rename(b, aside) == nil {
		crashpoint.Step("set aside", aside)
		os.Remove(aside)
	}
}

// createExclusive creates the file p holding content, or fails with an error that is
// fs.ErrExist when p exists. p appears with its content: it is written under a temp name
// (atomicfile's, which the next run or merge removes if this process is killed) and hard-linked
// to p, so that a merger killed in between leaves no empty lock, which names no process to
// check and would stand until MergeLockStale. Where hard links cannot be made (some network
// and FUSE file systems), p is created exclusively and then written.
func createExclusive(p, content string) error {
	tmp := filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+".tmp-"+owner.NewTag())
	err := os.WriteFile(tmp, []byte(content), 0o666)
	if err == nil {
		crashpoint.Step("written", tmp)
		if err = linkFile(tmp, p); err != nil && sameFile(tmp, p) {
			// NFS: a LINK whose reply was lost is sent again and fails (EEXIST) on the link it
			// made; p is this link all the same (open(2)'s advice: check the link count)
			err = nil
		}
	}
	os.Remove(tmp)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return errors.Unwrap(err)
	}
	_, werr := f.WriteString(content)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(p)
		return werr
	}
	return nil
}

// linkFile is os.Link (tests replace it: a file system without hard links, NFS's retried LINK).
var linkFile = os.Link

// sameFile reports whether the paths a and b name the same file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}
