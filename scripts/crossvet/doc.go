// Command crossvet checks the pure-Go build for other platforms without compiling it: for each
// GOOS/GOARCH given, it type-checks every package of the module and its tests from source (the
// files that platform's build selects, cgo off), reports what the compiler would of a function
// declared without a body in a package without assembly for that platform, and runs go vet's
// analyzers on them. go vet ./... for another platform compiles the standard library and every
// dependency for it first, about 30 s of CI's two cores a platform with a cold build cache; this
// takes about 4. What only a compiler or linker finds (the assembler's own errors, a symbol that
// assembly fails to define) is left to the platforms that are really built: the host and
// linux/arm64 (scripts/test-arm64.sh).
//
//	go run ./scripts/crossvet [-C DIR] GOOS/GOARCH... [-- PATTERN...]
//
// It prints each finding once (a package's test variant repeats its files) and exits 1 if there
// were any, 2 when the packages could not be listed.
package main
