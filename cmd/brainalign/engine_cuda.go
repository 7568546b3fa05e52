//go:build cuda

package main

// The cuda build has both engines ("--device cuda" / "cuda:N", or "cpu") and defaults to the GPU.
import (
	_ "github.com/brainalign/brainalign/engine/cuda"
	_ "github.com/brainalign/brainalign/fallback"
)

// defaultDevice is the engine used when --device is not given.
const defaultDevice = "cuda:0"
