//go:build linux

package testnet

import "syscall"

// childAttr makes a node process die with the test binary, so that a test
// killed by its timeout leaves no node running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
