// Package node is a veritrial node's home: the CometBFT configuration of
// a veritrial node and its defaults (consensus timing, block size, log
// level), the node and validator key files, where the keyring and the
// access log live, the node account's key file, the genesis document, and
// the demo consortium veritrial init lays out in a home. veritrial init and start use it, and so does the testnet package,
// which lays out a consortium of such homes.
package node
