// Package app is the replicated veritrial state machine: an ABCI 2.0
// application for CometBFT whose state lives in one IAVL tree (app hash =
// tree root). The ABCI adapter (abci.go) decodes, dispatches and maps
// errors to codes; the handlers own the rules.
package app
