package app

import "context"

// TakeSnapshot writes a snapshot of the last committed height at once and
// waits for it (benchmarks of apps opened without a snapshot interval).
func (a *App) TakeSnapshot() error {
	a.cmu.Lock()
	h := a.checkedHeight
	a.cmu.Unlock()
	_, err := a.snaps.take(context.Background(), h)
	return err
}
