package outdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// MakeParents makes the missing parent folders of path (`--out results/subj01_layer12` in a
// fresh clone) and returns those it made, deepest first, for RemoveMade once the output proves
// not to be written. When they cannot all be made (a full disk), those made are removed and the
// error of the one that failed is returned.
func MakeParents(path string) ([]string, error) {
	parent := filepath.Dir(filepath.Clean(path))
	var made []string
	for p := parent; ; p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		made = append(made, p)
		if filepath.Dir(p) == p {
			break
		}
	}
	if len(made) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(parent, 0o777); err != nil {
		RemoveMade(made)
		return nil, err
	}
	return made, nil
}

// RemoveMade removes the folders MakeParents made, deepest first, as long as they are empty.
// Those not there are passed over: a MkdirAll that failed part-way (a full disk) made only the
// upper ones.
func RemoveMade(made []string) {
	for _, p := range made {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
	}
}
