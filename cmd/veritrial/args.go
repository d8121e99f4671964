package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// completionFlag is the hidden flag urfave/cli's shell completion appends.
const completionFlag = "--generate-bash-completion"

// interspersed moves the flags of the command line's last command before
// its positional arguments, so that "veritrial keys delete NAME
// --passphrase-file F" works like "veritrial keys delete --passphrase-file F
// NAME" (Go's flag parsing stops at the first positional argument).
// Everything after "--" stays positional.
func interspersed(a *cli.App, args []string) []string {
	if len(args) < 2 || args[len(args)-1] == completionFlag {
		return args
	}
	out := []string{args[0]}
	cmds, flags := a.Commands, a.Flags
	i := 1
	// Walk down the command path, keeping each level's flags in place.
	for i < len(args) {
		tok := args[i]
		if tok == "--" {
			return append(out, args[i:]...)
		}
		if isFlagToken(tok) {
			out = append(out, tok)
			if flagTakesValue(flags, tok) && !strings.Contains(tok, "=") && i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
			i++
			continue
		}
		sub := findCommand(cmds, tok)
		if sub == nil {
			break
		}
		out = append(out, tok)
		cmds, flags = sub.Subcommands, sub.Flags
		i++
	}
	// The last command: its flags first, then its positional arguments.
	var pos []string
	for i < len(args) {
		tok := args[i]
		if tok == "--" {
			pos = append(pos, args[i:]...)
			break
		}
		if isFlagToken(tok) {
			out = append(out, tok)
			if flagTakesValue(flags, tok) && !strings.Contains(tok, "=") && i+1 < len(args) {
				out = append(out, args[i+1])
				i++
			}
		} else {
			pos = append(pos, tok)
		}
		i++
	}
	return append(out, pos...)
}

func isFlagToken(s string) bool { return len(s) > 1 && s[0] == '-' && s != "--" }

// flagTakesValue reports whether the flag token names a flag that needs a
// value (unknown flags are assumed not to; parsing reports them).
func flagTakesValue(flags []cli.Flag, tok string) bool {
	name := strings.TrimLeft(tok, "-")
	name, _, _ = strings.Cut(name, "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				if d, ok := f.(cli.DocGenerationFlag); ok {
					return d.TakesValue()
				}
				return true
			}
		}
	}
	return false
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		for _, n := range c.Names() {
			if n == name {
				return c
			}
		}
	}
	return nil
}
