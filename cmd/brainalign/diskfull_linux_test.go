package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/brainalign/brainalign/array"
)

// smallDisk mounts a tmpfs with options opts (size=, nr_inodes=) at a new folder, unmounted when
// the test ends: a file system that really fills (ENOSPC), not a simulated error. Mounting needs
// root; elsewhere the test skips.
func smallDisk(t *testing.T, opts string) string {
	t.Helper()
	mnt := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, opts); err != nil {
		t.Skipf("cannot mount here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	return mnt
}

// leaveFree fills disk with a file of its own, leaving free bytes (whole pages) free, and returns
// the function that removes it (space freed, as a user deleting files would).
func leaveFree(t *testing.T, disk string, free int64) func() {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(disk, &st); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(disk, "filler")
	f, err := os.Create(filler)
	if err == nil {
		err = unix.Fallocate(int(f.Fd()), 0, 0, int64(st.Bavail)*int64(st.Bsize)-free)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	}
}

// pagesOf is the space the files of dir whose names pass keep take on a tmpfs: whole pages.
func pagesOf(t *testing.T, dir string, keep func(name string) bool) int64 {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	page := int64(os.Getpagesize())
	var n int64
	for _, e := range entries {
		if info, err := e.Info(); err == nil && keep(e.Name()) {
			n += (info.Size() + page - 1) / page * page
		}
	}
	return n
}

// readFolder is the files of dir by name, each JSON file without its "created" time.
func readFolder(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	created := regexp.MustCompile(`"created": "[^"]*"`)
	files := map[string][]byte{}
	for _, e := range entries {
		b := mustRead(t, filepath.Join(dir, e.Name()))
		if strings.HasSuffix(e.Name(), ".json") {
			b = created.ReplaceAll(b, nil)
		}
		files[e.Name()] = b
	}
	return files
}

// sameFolder fails unless dir holds exactly the files of want, byte for byte.
func sameFolder(t *testing.T, what, dir string, want map[string][]byte) {
	t.Helper()
	got := readFolder(t, dir)
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s: %s differs (%d bytes, want %d)", what, name, len(got[name]), len(b))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: %s holds %s as well", what, dir, name)
		}
	}
}

// A disk that fills as a figure is written: the command fails, saying so, where it warned and
// exited 0 without the figure and, rerun into earlier results, removed the earlier run's figure
// as one "not written this time" (spatial, temporal, halftime, rank, scaling and universal
// alike: keepFigure). The earlier results stay whole, a new folder does not appear, no temp file
// is left, and once space is freed the rerun writes what a run on a roomy disk writes. (A figure
// that cannot be drawn still only warns: TestKeepFigure.)
func TestFigureOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	rows := "model,compute,score\na,1e18,0.10\nb,1e19,0.15\nc,1e20,0.19\nd,1e21,0.21\ne,1e22,0.22\nf,3e22,0.225\n"
	table := writeText(t, dir, "models.csv", rows)
	other := writeText(t, dir, "other.csv", strings.Replace(rows, "0.19", "0.18", 1))
	scaling := func(out, table string) []string {
		return []string{"scaling", "--table", table, "--bootstrap", "20", "--out", out}
	}
	roomy := filepath.Join(dir, "roomy")
	if _, errOut, code := runCLI(t, scaling(roomy, table)...); code != 0 {
		t.Fatal(errOut)
	}
	want := readFolder(t, roomy)
	// everything but the figure, which is written last
	numbers := pagesOf(t, roomy, func(name string) bool { return name != "scaling.png" })

	disk := smallDisk(t, "size=1m")
	out := filepath.Join(disk, "scaling")
	if _, errOut, code := runCLI(t, scaling(out, other)...); code != 0 {
		t.Fatal(errOut)
	}
	earlier := readFolder(t, out)
	if _, ok := earlier["scaling.png"]; !ok {
		t.Fatal("the earlier run wrote no scaling.png")
	}
	free := leaveFree(t, disk, numbers)
	// the figure by its name, then the one file written for it (its staging name; not a temp
	// file within a temp name), and the cause once; in a new folder, by its name in the folder
	// asked for, not in the staging folder
	fullDisk := func(what, out string) {
		t.Helper()
		_, errOut, code := runCLI(t, scaling(out, table)...)
		if msg := strings.TrimSpace(errOut); code != 1 || !strings.HasPrefix(msg, "brainalign: atomicfile: "+filepath.Join(out, "scaling.png")+": write ") ||
			!strings.HasSuffix(msg, ": no space left on device") || strings.Count(msg, "no space left") != 1 || strings.Count(msg, ".tmp-") != 1 ||
			strings.Contains(msg, "\n") {
			t.Errorf("%s on a full disk: exit %d, %q; want exit 1, 'brainalign: atomicfile: %s: write …: no space left on device'",
				what, code, errOut, filepath.Join(out, "scaling.png"))
		}
	}
	fullDisk("rerun", out)
	sameFolder(t, "the failed rerun", out, earlier)
	fullDisk("a new folder", filepath.Join(disk, "new"))
	if entries, _ := os.ReadDir(disk); len(entries) != 2 {
		t.Errorf("the failed runs left %d entries in %s, want scaling and the filler", len(entries), disk)
	}
	free()
	if _, errOut, code := runCLI(t, scaling(out, table)...); code != 0 || errOut != "" {
		t.Fatalf("rerun with space freed: exit %d, %q", code, errOut)
	}
	sameFolder(t, "the rerun with space freed", out, want)
}

// A disk that fills (here its inodes) while --out's missing parent folders are made: the
// command fails saying so and leaves none of them, where it left those made before the one that
// failed (MkdirAll stops part-way; the cleanup stopped at the first folder not there).
func TestOutParentsOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	x, y := writeStudy(t, dir, 40, 3, 4)
	disk := oneInodeDisk(t) // for the first folder, not the second
	out := filepath.Join(disk, "results", "sub-01", "layer12")
	wantError(t, 1, "cannot create "+filepath.Dir(out)+": mkdir "+filepath.Dir(out)+": no space left on device",
		"encode", "--features", x, "--brain", y, "--out", out)
	notThere(t, filepath.Join(disk, "results"), "encode on a full disk")
}

// A sweep whose --out cannot be made once its missing parent is (a disk whose inodes fill): it
// fails saying so and leaves no parent folder, as encode does (TestOutParentsOnFullDisk), where
// it left an empty results/.
func TestSweepOutParentsOnFullDisk(t *testing.T) {
	s := writeCrashStudy(t, filepath.Join(t.TempDir(), "in"))
	disk := oneInodeDisk(t)
	out := filepath.Join(disk, "results", "sweep")
	wantError(t, 1, out+": cannot create: no space left on device", s.sweep(out)...)
	notThere(t, filepath.Join(disk, "results"), "sweep on a full disk")
}

// oneInodeDisk is a small tmpfs (smallDisk) filled with empty files but for one inode: one new
// folder can be made in it, not two.
func oneInodeDisk(t *testing.T) string {
	t.Helper()
	disk := smallDisk(t, "size=1m,nr_inodes=64")
	fill := filepath.Join(disk, "filler")
	if err := os.Mkdir(fill, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		var st unix.Statfs_t
		if err := unix.Statfs(disk, &st); err != nil {
			t.Fatal(err)
		}
		if st.Ffree <= 1 {
			break
		}
		if err := os.WriteFile(filepath.Join(fill, strings.Repeat("f", i%200+1)+string(rune('a'+i/200))), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return disk
}

// A sweep on a disk that fills at each of its writes in turn (a real tmpfs, one page more each
// time: every unit's arrays and record, the metadata, the merge lock and tables): it stops with
// exit status 1 saying the disk is full, leaves no temp file or merge lock, and once space is
// freed the same command resumes (a unit whose files were not all written has no record, and is
// scored again) to the tables of a sweep on a roomy disk, byte for byte.
func TestSweepOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	s := writeCrashStudy(t, filepath.Join(dir, "in"))
	roomy := filepath.Join(dir, "roomy")
	mustRun(t, s.sweep(roomy)...)
	want := sweepTables(t, roomy)
	var pages int64
	filepath.WalkDir(roomy, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			pages += pagesOf(t, filepath.Dir(p), func(name string) bool { return name == e.Name() })
		}
		return nil
	})

	disk := smallDisk(t, "size=2m")
	out := filepath.Join(disk, "sweep")
	failed := 0
	for free := int64(0); free < pages; free += int64(os.Getpagesize()) {
		what := fmt.Sprintf("%d bytes free", free)
		freeSpace := leaveFree(t, disk, free)
		_, errOut, code := runCLI(t, s.sweep(out)...)
		if code != 0 {
			failed++
			if code != 1 || !strings.HasSuffix(strings.TrimSpace(errOut), "no space left on device") {
				t.Errorf("%s: exit %d, %q; want exit 1, no space left on device", what, code, errOut)
			}
			checkNoLeftovers(t, what, out)
		}
		freeSpace()
		if _, errOut, code := runCLI(t, s.sweep(out)...); code != 0 {
			t.Fatalf("%s, then space freed: exit %d, %q", what, code, errOut)
		}
		checkSameFiles(t, what+", then space freed", sweepTables(t, out), want)
		must(t, os.RemoveAll(out))
	}
	if failed == 0 {
		t.Errorf("no run met a full disk: %d pages", pages/int64(os.Getpagesize()))
	}
	t.Logf("%d of %d runs met a full disk", failed, pages/int64(os.Getpagesize()))
}

// demo --overwrite on a full disk: the earlier study is set aside and the folder made again, but
// the marker that says a study is being written cannot be written. The error says so, naming the
// marker and the full disk, where it said "cannot create" the folder, which was there; the
// earlier study is put back.
func TestStudyMarkerOnFullDisk(t *testing.T) {
	disk := smallDisk(t, "size=1m")
	dir := filepath.Join(disk, "study")
	must(t, os.Mkdir(dir, 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "earlier"), []byte("1"), 0o644))
	free := leaveFree(t, disk, 0)
	ran := false
	err := replaceStudyOut(dir, func() error { ran = true; return nil })
	marker := filepath.Join(dir, studyIncomplete)
	if err == nil || !strings.HasPrefix(err.Error(), "--study-out "+dir+": cannot mark the study as being written: atomicfile: "+marker+": ") ||
		!strings.HasSuffix(err.Error(), ": no space left on device") || strings.Contains(err.Error(), "cannot create") {
		t.Errorf("replaceStudyOut on a full disk: %v; want it to name %s and say no space left on device", err, marker)
	}
	if ran {
		t.Error("the study was written without its marker")
	}
	free()
	sameFolder(t, "the failed run", dir, map[string][]byte{"earlier": []byte("1")})
	if entries, _ := os.ReadDir(disk); len(entries) != 1 {
		t.Errorf("the failed run left %d entries in %s, want the study only", len(entries), disk)
	}
}

// encode, ceiling, predict (with --best-layer too) and synth on a disk that fills at each of
// their files in turn (a real tmpfs: the pages of the files written before it left free): each
// fails naming the file by its path in the folder asked for, then the file system's own error
// (naming the one file written for it: a staging name, not a temp file within it), and the cause
// once, where they named it by its staging path (<disk>/.encode.tmp-…/scores.npy, a temp file
// in it after that); every file of the output is met in turn (none written by a path of its
// own), and nothing is left on the disk. A file named again (a size that crossed a page since the
// roomy run: a JSON file's timings) gets one more page.
func TestStagedOutputOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	x, y := writeStudy(t, dir, 40, 6, 50)
	tr := writeTrialStudy(t)
	mask := make([]float64, 50)
	for j := range mask {
		mask[j] = float64(j % 3 % 2) // a third of the targets left out: the predictions expanded over the mask
	}
	maskPath := filepath.Join(dir, "mask.npy")
	must(t, array.WriteNPY(maskPath, []int{50}, mask))
	tmpl, err := array.ReadGeometry(neuroFile("float32_be.nii"))
	must(t, err)
	g := *tmpl
	g.Spatial = []int{5, 10, 1}
	space := filepath.Join(dir, "space.nii.gz")
	must(t, array.WriteVolume(space, &g, make([]float64, 50)))
	st := newPlantedStudy(t)
	sw := st.sweep(t, "sweep", st.brain, "--alphas", "1,100", "--folds", "3")

	disk := smallDisk(t, "size=16m")
	page := int64(os.Getpagesize())
	for _, c := range []struct {
		what string
		args []string
	}{
		{"encode", []string{"encode", "--features", x, "--brain", y, "--save-predictions", "--space", space, "--out"}},
		{"ceiling", []string{"ceiling", "--brain", tr.trials, "--ids", tr.ids, "--sessions", tr.sessions, "--out"}},
		{"predict", []string{"predict", "-x", x, "--new-features", x, "-y", y, "--save-weights", "--brain-mask", maskPath, "--space", space, "-o"}},
		{"predict --best-layer", []string{"predict", "--best-layer", sw, "--features", st.train, "--new-features", st.fresh, "--brain", st.brain, "--alphas", "1,100", "--out"}},
		{"synth", []string{"synth", "--subjects", "1", "--trials", "2", "--out"}},
		{"synth --format npz", []string{"synth", "--subjects", "1", "--format", "npz", "--out"}},
	} {
		t.Run(c.what, func(t *testing.T) {
			what, args := c.what, c.args
			out := filepath.Join(disk, args[0])
			defer os.RemoveAll(out)
			mustRun(t, append(args, out)...)
			pages := map[string]int64{} // the output's files, by their path in it, and the pages each takes
			filepath.WalkDir(out, func(p string, e fs.DirEntry, err error) error {
				if err == nil && !e.IsDir() {
					info, _ := e.Info()
					rel, _ := filepath.Rel(out, p)
					pages[rel] = (info.Size() + page - 1) / page * page
				}
				return nil
			})
			must(t, os.RemoveAll(out))
			named := map[string]bool{}
			free, last := int64(0), ""
			for runs := 0; ; runs++ {
				if runs > 2*len(pages) {
					t.Fatalf("%s: %d runs on a full disk", what, runs)
				}
				freeSpace := leaveFree(t, disk, free)
				_, errOut, code := runCLI(t, append(args, out)...)
				msg := strings.TrimSpace(errOut)
				freeSpace()
				if code == 0 {
					break
				}
				prefix := "brainalign: atomicfile: " + out + string(filepath.Separator)
				file, _, _ := strings.Cut(strings.TrimPrefix(msg, prefix), ": ")
				if code != 1 || !strings.HasPrefix(msg, prefix) || pages[file] == 0 || !strings.HasSuffix(msg, ": no space left on device") ||
					strings.Count(msg, "no space left") != 1 || strings.Count(msg, ".tmp-") != 1 || strings.Contains(msg, "\n") {
					t.Fatalf("%s, %d bytes free: exit %d, %q; want exit 1, 'brainalign: atomicfile: %s: write %s: no space left on device' for a file of the output",
						what, free, code, errOut, filepath.Join(out, "FILE"), filepath.Join(disk, "."+args[0]+".tmp-…", "FILE"))
				}
				if entries, _ := os.ReadDir(disk); len(entries) != 0 {
					t.Fatalf("%s, %d bytes free: the failed run left %d entries in %s", what, free, len(entries), disk)
				}
				if file == last {
					free += page
					continue
				}
				if named[file] {
					t.Fatalf("%s, %d bytes free: %s named again, after %s", what, free, file, last)
				}
				named[file], last = true, file
				free += pages[file]
			}
			for file := range pages {
				if !named[file] {
					t.Errorf("%s: %s was never the file met by a full disk", what, file)
				}
			}
			t.Logf("%s: %d files", what, len(named))
		})
	}
}
