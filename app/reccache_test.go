package app

import (
	"testing"

	"github.com/veritrial/veritrial/app/types"
)

type mapReader map[string][]byte

func (m mapReader) Get(k []byte) ([]byte, error) { return m[string(k)], nil }

func TestDecodedCache(t *testing.T) {
	d := newDecoded[types.Org](2)
	r := mapReader{"a": []byte(`{"id":"a","name":"A","kind":"site"}`), "b": []byte(`{"id":"b","name":"B","kind":"sponsor"}`), "bad": []byte(`{`)}
	o1, ok, err := d.get(r, []byte("a"))
	if err != nil || !ok || o1.Name != "A" {
		t.Fatalf("first read: %+v %v %v", o1, ok, err)
	}
	o2, _, _ := d.get(r, []byte("a"))
	if o1 != o2 {
		t.Error("the same bytes decoded twice")
	}
	// Changed bytes under the same key are decoded afresh.
	r["a"] = []byte(`{"id":"a","name":"A2","kind":"site"}`)
	if o3, _, _ := d.get(r, []byte("a")); o3.Name != "A2" {
		t.Errorf("changed record read as %q", o3.Name)
	}
	if _, ok, err := d.get(r, []byte("missing")); ok || err != nil {
		t.Errorf("absent key: found %v, err %v", ok, err)
	}
	if _, _, err := d.get(r, []byte("bad")); err == nil {
		t.Error("corrupt record decoded")
	}
	d.get(r, []byte("b"))
	if len(d.m) > d.max {
		t.Errorf("cache holds %d entries, bound %d", len(d.m), d.max)
	}
}
