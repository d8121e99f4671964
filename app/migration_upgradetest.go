//go:build upgradetest

package app

// upgrade-test is a migration only test binaries carry (go build -tags
// upgradetest): the black-box upgrade test switches a real node to such a
// binary at the height of a decided upgrade. It changes no record; the
// registry then writes the version after the release's own.
func init() {
	migrations = append(migrations, Migration{Upgrade: "upgrade-test", From: StateVersion(), Migrate: func(*exec) error { return nil }})
}
