package types_test

import (
	"fmt"
	"testing"

	"github.com/cosmos/iavl"
	iavldb "github.com/cosmos/iavl/db"

	"github.com/veritrial/veritrial/app/types"
)

func tree(t *testing.T, n int) *iavl.ImmutableTree {
	t.Helper()
	mt := iavl.NewMutableTree(iavldb.NewMemDB(), 100, false, iavl.NewNopLogger())
	for i := 0; i < n; i++ {
		if _, err := mt.Set([]byte(fmt.Sprintf("k/%04d", i*2)), []byte(fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := mt.SaveVersion(); err != nil {
		t.Fatal(err)
	}
	it, err := mt.GetImmutable(1)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestVerifyProof(t *testing.T) {
	it := tree(t, 50)
	root := it.Hash()
	other := tree(t, 51).Hash()
	key, val := []byte("k/0020"), []byte("v10")
	mp, err := it.GetMembershipProof(key)
	if err != nil {
		t.Fatal(err)
	}
	mem, _ := mp.Marshal()
	if err := types.VerifyProof(root, key, val, mem); err != nil {
		t.Fatalf("membership: %v", err)
	}
	for name, tc := range map[string]struct {
		root, key, val, proof []byte
	}{
		"other value":         {root, key, []byte("v11"), mem},
		"other key":           {root, []byte("k/0022"), val, mem},
		"other root":          {other, key, val, mem},
		"as absence":          {root, key, nil, mem},
		"truncated proof":     {root, key, val, mem[:len(mem)/2]},
		"garbage proof":       {root, key, val, []byte{0xff, 0x01, 0x02}},
		"empty proof":         {root, key, val, nil},
		"empty root":          {nil, key, val, mem},
		"flipped proof byte":  {root, key, val, flip(mem, len(mem)-3)},
		"flipped proof byte2": {root, key, val, flip(mem, len(mem)/3)},
	} {
		if err := types.VerifyProof(tc.root, tc.key, tc.val, tc.proof); err == nil {
			t.Errorf("%s: verified", name)
		}
	}

	absent := []byte("k/0021")
	np, err := it.GetNonMembershipProof(absent)
	if err != nil {
		t.Fatal(err)
	}
	non, _ := np.Marshal()
	if err := types.VerifyProof(root, absent, nil, non); err != nil {
		t.Fatalf("non-membership: %v", err)
	}
	if types.VerifyProof(root, absent, []byte("x"), non) == nil {
		t.Error("absence proof verified membership")
	}
	if types.VerifyProof(root, key, nil, non) == nil {
		t.Error("absence proof verified for a present key")
	}
	if types.VerifyProof(other, absent, nil, non) == nil {
		t.Error("absence proof verified against another root")
	}
	// Beyond both ends of the key space.
	for _, k := range []string{"a", "z"} {
		np, err := it.GetNonMembershipProof([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		bz, _ := np.Marshal()
		if err := types.VerifyProof(root, []byte(k), nil, bz); err != nil {
			t.Errorf("absence of %q: %v", k, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x55
	return c
}
