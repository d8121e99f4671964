//go:build race

package protocol

// raceEnabled is true under the race detector, where sync.Pool drops items.
const raceEnabled = true
