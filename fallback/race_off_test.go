//go:build !race

package fallback

// raceEnabled: the race detector slows the engine's loops about fourfold (make test-race).
const raceEnabled = false
