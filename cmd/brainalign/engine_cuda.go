//go:build cuda

package main

// The cuda build registers the CUDA engine ("--device cuda" / "cuda:N").
import _ "github.com/brainalign/brainalign/engine/cuda"
