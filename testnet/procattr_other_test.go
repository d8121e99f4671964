//go:build !linux

package testnet

import "syscall"

// childAttr is the default elsewhere: the cleanup functions stop the nodes.
func childAttr() *syscall.SysProcAttr { return nil }
