// Package ownertest has test helpers for code that tells live owners of temp files and staging
// folders from dead ones (package owner).
package ownertest
