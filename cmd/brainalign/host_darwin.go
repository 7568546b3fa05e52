package main

import "golang.org/x/sys/unix"

// brandString is macOS's processor name (machdep.cpu.brand_string: "Apple M2 Pro", ...).
func brandString() string {
	s, err := unix.Sysctl("machdep.cpu.brand_string")
	if err != nil {
		return ""
	}
	return s
}
