package array

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteNPYChunks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.npy")
	err := WriteNPYChunks(p, []int{2, 3}, func(emit func([]float64) error) error {
		if err := emit([]float64{1, 2}); err != nil {
			return err
		}
		return emit([]float64{3, 4, 5, 6})
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := ReadNPY(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if len(a.Shape) != 2 || a.Shape[0] != 2 || a.Shape[1] != 3 || a.F64[5] != 6 || a.F64[2] != 3 {
		t.Fatalf("read back %v %v", a.Shape, a.F64)
	}
	for _, c := range []struct {
		chunks [][]float64
		want   string
	}{{[][]float64{{1, 2, 3}}, "3 values"}, {[][]float64{{1, 2, 3, 4}, {5, 6, 7}}, "more than"}} {
		q := filepath.Join(dir, "bad.npy")
		err := WriteNPYChunks(q, []int{2, 3}, func(emit func([]float64) error) error {
			for _, ch := range c.chunks {
				if err := emit(ch); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.chunks, err, c.want)
		}
		if _, err := os.Stat(q); !os.IsNotExist(err) {
			t.Errorf("a failed write left %s", q)
		}
	}
}
