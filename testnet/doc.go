// Package testnet lays out a veritrial consortium: one node home per
// organisation (validator key, node key, the organisation's people's keys),
// one shared genesis and persistent peers between every pair of nodes,
// either on one machine (127.0.0.1, distinct ports) or on one machine per
// organisation (--hosts). `veritrial testnet init` is its command line.
//
// Each home is a node home as package app/node makes them (the same
// configuration, key files and genesis document as `veritrial init`'s),
// and each organisation starts with the people of its kind
// (node.Starters), as the demo consortium does.
//
// The package's tests are black-box fault tests in the manner of
// CometBFT's test/e2e: four real `veritrial start` processes, a workload
// through different organisations' nodes, kill -9, halts, rolling
// restarts, pauses, truncated database logs and network partitions (each
// node in a network namespace of its own), with invariants checked over
// RPC after each perturbation.
package testnet
