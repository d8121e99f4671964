package app

import (
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

// TestUpgradeReadStateVersion: a ledger without the key is at version
// 1; a stored version is read back; anything but a positive decimal is
// corrupt.
func TestUpgradeReadStateVersion(t *testing.T) {
	k := string(types.KeyStateVersion)
	for _, tc := range []struct {
		name string
		r    mapReader
		want uint64
		bad  bool
	}{
		{name: "absent", r: mapReader{}, want: 1},
		{name: "one", r: mapReader{k: []byte("1")}, want: 1},
		{name: "seven", r: mapReader{k: []byte("7")}, want: 7},
		{name: "zero", r: mapReader{k: []byte("0")}, bad: true},
		{name: "not a number", r: mapReader{k: []byte("v2")}, bad: true},
		{name: "negative", r: mapReader{k: []byte("-1")}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := readStateVersion(tc.r)
			if (err != nil) != tc.bad || !tc.bad && v != tc.want {
				t.Fatalf("readStateVersion = %d, %v; want %d (error: %v)", v, err, tc.want, tc.bad)
			}
		})
	}
}
