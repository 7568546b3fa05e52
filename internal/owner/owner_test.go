package owner

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	host, pid, ok := Parse(NewTag())
	if !ok || host != Host() || pid != os.Getpid() {
		t.Fatalf("Parse(NewTag()) = %q, %d, %v", host, pid, ok)
	}
	for _, bad := range []string{"", "x", "0badf00d-12-0000abc", "0badf00d-12-0000abcd-1", "0BADF00D-12-0000abcd",
		"0badf00d--0000abcd", "0badf00d-0-0000abcd", "0badf00d-1x-0000abcd", "123456789", "0badf00d-99999999999999999999-0000abcd"} {
		if _, _, ok := Parse(bad); ok {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestAbandonedByAge(t *testing.T) {
	now := time.Now()
	young, old := now.Add(-time.Hour), now.Add(-MaxAge-time.Hour)
	self := Host() + "-" + strconv.Itoa(os.Getpid()) + "-0000abcd"
	other := "0badf00d-1-0000abcd"
	if other[:8] == Host() {
		other = "0badf00e-1-0000abcd"
	}
	for _, tc := range []struct {
		tag  string
		mod  time.Time
		want bool
	}{
		{self, old, false}, // this process: never
		{other, young, false},
		{other, old, true}, // another host: by age
		{"", young, false},
		{"", old, true}, // no tag: by age
	} {
		if got := Abandoned(tc.tag, tc.mod, now); got != tc.want {
			t.Errorf("Abandoned(%q, %v ago) = %v, want %v", tc.tag, now.Sub(tc.mod).Round(time.Hour), got, tc.want)
		}
	}
}

// Two machines of one host name, in the initial PID namespace (whose link reads the same on
// every machine), are told apart by their boot IDs: each would otherwise take the other's live
// process for one of its own that no longer runs.
func TestHostTagTellsMachinesApart(t *testing.T) {
	const initNS = "pid:[4026531836]"
	a := hostTag("node", initNS, "ecd1ecff-4e7e-404e-b2c8-e14ce154a1b6")
	b := hostTag("node", initNS, "0b5c3f0e-9a61-4e51-8d0b-2f6f1c7e93aa")
	if a == b {
		t.Errorf("two machines named node: both tagged %s", a)
	}
	if again := hostTag("node", initNS, "ecd1ecff-4e7e-404e-b2c8-e14ce154a1b6"); again != a {
		t.Errorf("one machine tagged %s and %s", a, again)
	}
	if c := hostTag("node", "pid:[4026532201]", "ecd1ecff-4e7e-404e-b2c8-e14ce154a1b6"); c == a {
		t.Errorf("two PID namespaces of one machine: both tagged %s", a)
	}
	if len(Host()) != 8 || !isHex(Host()) {
		t.Errorf("Host() = %q, want 8 hex digits", Host())
	}
}
