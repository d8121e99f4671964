package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/keyring"
	"github.com/veritrial/veritrial/app/node"
)

// Environment variables mirroring the global flags.
const (
	envHome       = "VERITRIAL_HOME"
	envNode       = "VERITRIAL_NODE"
	envFrom       = "VERITRIAL_FROM"
	envPassphrase = "VERITRIAL_PASSPHRASE"
)

// Global flag names.
const (
	flagHome           = "home"
	flagNode           = "node"
	flagFrom           = "from"
	flagOutput         = "output"
	flagPassphraseFile = "passphrase-file"
)

// defaultNode is the read API used when neither --node, VERITRIAL_NODE
// nor the home's config names one.
const defaultNode = "http://127.0.0.1:26680"

// globalCategory groups the global flags in every command's help.
const globalCategory = "Global"

// globalFlags returns fresh instances of the global flags. They are given
// to the app and to every command, so they may be written before or after
// the command name; the innermost one given wins. Environment variables are
// read by the accessors (flag > environment > default), not by urfave/cli,
// so a flag given before the command still beats the environment.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagHome, Category: globalCategory, Usage: "the node's home directory: config, data and keyring (env " + envHome + ")", DefaultText: "~/.veritrial"},
		&cli.StringFlag{Name: flagNode, Category: globalCategory, Usage: "the node's read API URL, https://HOST:PORT (or, on the node's machine, its RPC at tcp://HOST:PORT) (env " + envNode + ")", DefaultText: "the home's read API, else " + defaultNode},
		&cli.StringFlag{Name: flagFrom, Category: globalCategory, Usage: "name of the key that signs writes and reads (env " + envFrom + ")"},
		&cli.StringFlag{Name: flagOutput, Aliases: []string{"o"}, Category: globalCategory, Usage: "output format: text or json (json: one document on stdout)", DefaultText: "text"},
		&cli.StringFlag{Name: flagPassphraseFile, Category: globalCategory, Usage: "read the keyring passphrase from the first line of this file (else env " + envPassphrase + ", else a prompt)", TakesFile: true},
	}
}

// globalValue returns a global flag's value: the innermost command level
// where it was given on the command line, else the environment variable
// env (if not empty), else "".
func globalValue(c *cli.Context, name, env string) string {
	for _, ctx := range c.Lineage() {
		if ctx == nil || ctx.Command == nil {
			continue
		}
		for _, n := range localFlagNames(ctx) {
			if n == name || name == flagOutput && n == "o" {
				return ctx.String(name)
			}
		}
	}
	if env != "" {
		return os.Getenv(env)
	}
	return ""
}

// localFlagNames returns the flags given at ctx's level; a context that
// parsed no flags has none.
func localFlagNames(ctx *cli.Context) (names []string) {
	defer func() {
		if recover() != nil {
			names = nil
		}
	}()
	return ctx.LocalFlagNames()
}

// runState is what one run of the App remembers across the command tree.
type runState struct {
	json    bool // --output json was chosen
	emitted bool // a JSON document was printed on stdout
	// signers are the keys unlocked in this run, by name; run closes them.
	signers map[string]*keyring.Signer
	// closers run when the run ends (a light client's trust store).
	closers []func()
}

// atEnd runs f when the run ends.
func (st *runState) atEnd(f func()) { st.closers = append(st.closers, f) }

// keep remembers the unlocked key name for the rest of the run, closing
// the one it replaces.
func (st *runState) keep(name string, s *keyring.Signer) {
	if st.signers == nil {
		st.signers = map[string]*keyring.Signer{}
	}
	if old, ok := st.signers[name]; ok && old != s {
		old.Close()
	}
	st.signers[name] = s
}

// closeSigners runs what waits for the end of the run (atEnd) and forgets
// every key unlocked in it.
func (st *runState) closeSigners() {
	for _, f := range slices.Backward(st.closers) {
		f()
	}
	st.closers = nil
	for name, s := range st.signers {
		s.Close()
		delete(st.signers, name)
	}
}

func stateOf(a *cli.App) *runState {
	if a.Metadata == nil {
		a.Metadata = map[string]any{}
	}
	st, ok := a.Metadata["state"].(*runState)
	if !ok {
		st = &runState{}
		a.Metadata["state"] = st
	}
	return st
}

// checkGlobals validates the global flags before a command runs.
func checkGlobals(c *cli.Context) error {
	switch o := strings.ToLower(globalValue(c, flagOutput, "")); o {
	case "", "text":
		stateOf(c.App).json = false
	case "json":
		stateOf(c.App).json = true
	default:
		return usageErrorf("--output %q is not a known format: use text or json", o)
	}
	if _, err := homeDir(c); err != nil {
		return err
	}
	return nil
}

// isJSON reports whether --output json was chosen.
func isJSON(c *cli.Context) bool { return stateOf(c.App).json }

// homeDir returns the absolute home directory: --home, VERITRIAL_HOME or
// ~/.veritrial. A leading "~/" is expanded.
func homeDir(c *cli.Context) (string, error) {
	h := globalValue(c, flagHome, envHome)
	if h == "" {
		h = "~/.veritrial"
	}
	if h == "~" || strings.HasPrefix(h, "~/") {
		u, err := os.UserHomeDir()
		if err != nil {
			return "", usageErrorf("cannot find your home directory to place %s: pass --home or set %s", h, envHome)
		}
		h = filepath.Join(u, strings.TrimPrefix(h, "~"))
	}
	abs, err := filepath.Abs(h)
	if err != nil {
		return "", usageErrorf("--home %q is not a usable path: %v", h, err)
	}
	return abs, nil
}

// fromKey returns the signing key name from --from or VERITRIAL_FROM, or a
// usage error saying how to choose one.
func fromKey(c *cli.Context) (string, error) {
	f := globalValue(c, flagFrom, envFrom)
	if f == "" {
		return "", usageErrorf("no signing key chosen: pass --from NAME (veritrial keys list shows the names)")
	}
	return f, nil
}

// nodeAddr returns the node address to talk to: --node, VERITRIAL_NODE,
// the URL of the read API in the home's veritrial.toml, the RPC listen
// address in the config.toml of a home made before the read API, or
// defaultNode.
func nodeAddr(c *cli.Context) (string, error) {
	if n := globalValue(c, flagNode, envNode); n != "" {
		return normalizeNodeAddr(n)
	}
	home, err := homeDir(c)
	if err != nil {
		return "", err
	}
	if api, ok, err := node.LoadAPI(home); err == nil && ok {
		return api.URL(), nil
	}
	if laddr, ok := node.RPCAddr(home); ok {
		return normalizeNodeAddr(laddr)
	}
	return defaultNode, nil
}

// normalizeNodeAddr accepts host:port, tcp:// (a node's RPC), http:// and
// https:// (its read API) addresses and returns the form the client
// takes; a wildcard listen host is replaced by 127.0.0.1.
func normalizeNodeAddr(a string) (string, error) {
	a = strings.TrimSpace(a)
	if a == "" {
		return "", usageErrorf("--node is empty: give a read API URL like %s", defaultNode)
	}
	scheme, rest, ok := strings.Cut(a, "://")
	if !ok {
		scheme, rest = "tcp", a
	}
	switch scheme {
	case "tcp", "http", "https", "unix":
	default:
		return "", usageErrorf("--node %q has scheme %q: use https://HOST:PORT (the read API) or tcp://HOST:PORT (the RPC)", a, scheme)
	}
	if scheme != "unix" {
		for _, wild := range []string{"0.0.0.0:", "[::]:", ":"} {
			if strings.HasPrefix(rest, wild) {
				rest = "127.0.0.1:" + strings.TrimPrefix(rest, wild)
				break
			}
		}
		if !strings.Contains(rest, ":") {
			return "", usageErrorf("--node %q has no port: give a read API URL like %s", a, defaultNode)
		}
	}
	return fmt.Sprintf("%s://%s", scheme, rest), nil
}

// nonEmptyFlag returns the value of an optional flag, refusing one that
// was given empty.
func nonEmptyFlag(c *cli.Context, name string) (string, error) {
	v := c.String(name)
	if c.IsSet(name) && strings.TrimSpace(v) == "" {
		return "", usageErrorf("--%s is empty", name)
	}
	return v, nil
}

// exactArgs checks the number of positional arguments and names them in
// the error.
func exactArgs(c *cli.Context, names ...string) error {
	n := c.NArg()
	if n == len(names) {
		return nil
	}
	want := strings.ToUpper(strings.Join(names, " "))
	if n < len(names) {
		return usageErrorf("missing %s: usage: %s %s", strings.ToUpper(names[n]), c.Command.HelpName, want)
	}
	return usageErrorf("too many arguments (%q): usage: %s %s", c.Args().Slice()[len(names):], c.Command.HelpName, want)
}

// studyFlag is the required --study of the commands that work on one
// study.
func studyFlag() cli.Flag {
	return &cli.StringFlag{Name: "study", Required: true, Usage: "the study `ID`, as registered (e.g. VT-HTN-201)"}
}

// subjectFlag is --subject; usage says what it selects.
func subjectFlag(required bool, usage string) cli.Flag {
	return &cli.StringFlag{Name: "subject", Required: required, Usage: usage}
}
