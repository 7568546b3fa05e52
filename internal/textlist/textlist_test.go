package textlist

import "testing"

func TestSome(t *testing.T) {
	items := []string{"a", "b", "c", "d"}
	for _, c := range []struct {
		n    int
		want string
	}{{8, "a, b, c, d"}, {4, "a, b, c, d"}, {3, "a, b, c, ... 1 more"}, {1, "a, ... 3 more"}} {
		if got := Some(items, c.n); got != c.want {
			t.Errorf("Some(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	if got := Some(nil, 8); got != "" {
		t.Errorf("Some(nil) = %q", got)
	}
	Some(items, 2)
	if items[2] != "c" {
		t.Error("Some wrote into its argument")
	}
}
