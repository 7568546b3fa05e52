//go:build !cuda

package main

// The CPU engine is in every build; engine_cuda.go adds the CUDA engine under the cuda tag.
import _ "github.com/brainalign/brainalign/fallback"

// defaultDevice is the engine used when --device is not given.
const defaultDevice = "cpu"
