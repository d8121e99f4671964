// Package lightroot verifies block headers with CometBFT's light client
// from a trust root: the consortium's genesis validators, a header
// trusted out of band, or the headers an earlier run verified into a
// home's trust store (<home>/audit/<chain-id>), which every run extends.
// Every proof a client checks is checked against an app hash from a
// header verified here (Verifier.AppHash is a client.RootSource), never
// against a header the node it reads from handed over: client.Reader with
// proofs, an export's provenance and the audit commands all take their
// roots from it. Headers come from a light block provider: a node's RPC or
// its read API (client.Client.LightProvider).
package lightroot
