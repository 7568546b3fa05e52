package main

import (
	"strings"
	"testing"
)

// parseBytes reads --memory: sizes past int64 and below a byte are refused, where they became a
// negative limit (refused later as "negative memory limit (-9223372036854775808)", exit 1) or 0,
// the engine's default of no cap at all (--memory 0.5 ran uncapped).
func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"", 0}, {"8GiB", 8 << 30}, {"500MB", 500e6}, {"1e9", 1e9}, {" 2 KiB ", 2048}, {"1B", 1}, {"1.5K", 1536}} {
		if got, err := parseBytes(tc.in); err != nil || got != tc.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"-1", "not a positive size"}, {"0", "not a positive size"}, {"NaN", "not a positive size"}, {"8gib", "not a positive size"},
		{"Inf", "too large"}, {"1e30", "too large"}, {"9e9GiB", "too large"}, {"8388608TiB", "too large"},
		{"0.5", "less than a byte"}, {"0.5B", "less than a byte"}, {"1e-12GiB", "less than a byte"},
	} {
		if got, err := parseBytes(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseBytes(%q) = %d, %v; want an error saying %q", tc.in, got, err, tc.want)
		}
	}
}
