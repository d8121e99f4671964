// Package ceremony forms a consortium without any organisation seeing
// another's secrets: the genesis ceremony behind veritrial consortium
// new, join, assemble and install (docs/CONSORTIUM.md, "Forming a
// consortium").
//
// A coordinator writes a Draft: the chain ID, the genesis time, the
// validators' power, the ledger's parameters and governance rules, and
// optionally the organisations expected. Each organisation, on its own
// machine, Joins it: its home is made there (CometBFT configuration,
// validator key, node key, and its first administrator's key in the
// keyring), and a Member file carries only public material, signed by
// each of its three keys. Assemble checks every member file against the
// draft and the others and builds genesis.json deterministically, with a
// Manifest. Install, on each organisation's machine, checks that the
// genesis holds its own entry as it signed it and the draft's rules,
// writes it into the home with the other members as persistent peers,
// and gives its SHA-256 for the organisations to compare.
package ceremony
