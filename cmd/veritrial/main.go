// Command veritrial is the one binary trial people and operators use: it
// creates and runs a node (CometBFT and the veritrial ledger in one
// process), manages the encrypted keystore, checks protocols and runs every
// workflow from the shell.
//
// Exit codes: 0 success, 1 failure, 2 wrong flags or arguments, 3 invalid
// input (a file or value that cannot be used), 4 key or passphrase problem,
// 5 no node answers, 6 the ledger rejected a transaction. Errors are one
// clear sentence on stderr; with --output json a document
// {"error": ..., "exit_code": ...} is also printed on stdout unless the
// command already printed its own.
//
// Each command group lives in a file named after it (init.go, form.go,
// audit.go...); commands lists them all, in the order of the help. The
// shared pieces: flags.go (global flags, home, node address), args.go
// (flags after positional arguments), errors.go (exit codes), output.go
// (JSON or text; printf, which escapes every value printed for people),
// table.go (tables fitted to the terminal), files.go (reading and writing
// files whole), passphrase.go (keyring and passphrases), client.go
// (connecting to a node), send.go (the one path of every write: build,
// sign, broadcast, wait, report) and config.go (the home's config.toml).
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/types"
)

// version and commit are the binary's release and source commit, set at
// link time by make release (-ldflags "-X main.version=... -X
// main.commit=..."); a binary built otherwise says "dev", and takes its
// commit from Go's VCS stamp when there is one.
var (
	version = "dev"
	commit  = ""
)

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the command line args (args[0] is the program name) and
// returns the process exit code. Nothing it runs may end the process
// itself.
func run(args []string, stdout, stderr io.Writer) (code int) {
	a := newApp(stdout, stderr)
	defer stateOf(a).closeSigners()
	defer func() {
		if r := recover(); r != nil {
			code = report(a, &cliError{code: exitFailure, msg: fmt.Sprintf("internal error: %v; please report this with the command you ran", r)})
		}
	}()
	return report(a, a.Run(interspersed(a, args)))
}

// newApp builds the command tree writing to stdout and stderr.
func newApp(stdout, stderr io.Writer) *cli.App {
	a := &cli.App{
		Name:    "veritrial",
		Usage:   "clinical-trial data integrity on a replicated ledger",
		Version: version,
		UsageText: `veritrial [global options] command [command options] [arguments...]

Try it on one machine:
   veritrial init                  # a demo consortium in ~/.veritrial
   veritrial start                 # run the node (Ctrl-C stops it)
   veritrial status --from regulator-auditor   # in another terminal`,
		Description: `Global options may be given before or after the command name. Environment
variables mirror them: VERITRIAL_HOME, VERITRIAL_NODE, VERITRIAL_FROM and
VERITRIAL_PASSPHRASE (the passphrase itself, for scripts; --passphrase-file
takes precedence). With --output json every command prints exactly one JSON
document on stdout. Exit code 0 means success.

Text output shows control and invisible characters inside values escaped
(\n, \t, \x1b, \u202e...), so that text typed at a site cannot rewrite
the screen; --output json keeps every value exact. On a terminal, tables
wider than the window wrap their widest columns at spaces; piped or
redirected, every cell keeps its full text on one line.`,
		Commands:             commands(),
		Flags:                globalFlags(),
		EnableBashCompletion: true,
		HideHelpCommand:      true,
		Writer:               stdout,
		ErrWriter:            stderr,
		// Errors are reported once, by run; urfave/cli must not exit.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		Action:         parentAction,
		Metadata:       map[string]any{},
	}
	prepareCommands(a.Commands)
	return a
}

// commands returns fresh instances of every top-level command, in the
// order of the help: urfave/cli lists the categories alphabetically, and
// the commands of a category in the order given here.
//
// This list is the one place a command is added: write its constructor
// (a function returning a new *cli.Command, so that every App gets fresh
// flag values) in a file named after the command, give the command a
// Category, a UsageText with an example, a Description and a usage text
// for every flag, then add the constructor here. The global flags are
// added to it and its subcommands by prepareCommands.
func commands() []*cli.Command {
	return []*cli.Command{
		// Consortium
		consortiumCommand(),
		// Keys
		keysCommand(),
		// Node
		initCommand(),
		startCommand(),
		statusCommand(),
		doctorCommand(),
		testnetCommand(),
		accessLogCommand(),
		// Other
		completionCommand(),
		versionCommand(),
		// Protocol
		protocolCommand(),
		// Queries
		showCommand(),
		auditCommand(),
		// Workflows, in the order of a study
		studyCommand(),
		siteCommand(),
		accountCommand(),
		subjectCommand(),
		formCommand(),
		labRangesCommand(),
		randomizationCommand(),
		queryCommand(),
		sdvCommand(),
		signCommand(),
		safetyCommand(),
		scopeCommand(types.KindFreeze),
		scopeCommand(types.KindUnfreeze),
		scopeCommand(types.KindLock),
		scopeCommand(types.KindUnlock),
		exportCommand(),
		archiveCommand(),
	}
}

// Command categories shown in the help (urfave/cli lists them
// alphabetically).
const (
	categoryConsortium = "Consortium"
	categoryNode       = "Node"
	categoryKeys       = "Keys"
	categoryProtocol   = "Protocol"
	categoryWorkflow   = "Workflows"
	categoryQuery      = "Queries"
	categoryOther      = "Other"
)

// prepareCommands walks the tree: every command gets the global flags, the
// usage-error handler, output validation before it runs, and parents get
// an action that refuses unknown subcommands.
func prepareCommands(cmds []*cli.Command) {
	for _, c := range cmds {
		c.Flags = append(c.Flags, globalFlags()...)
		if c.OnUsageError == nil {
			c.OnUsageError = onUsageError
		}
		before := c.Before
		c.Before = func(ctx *cli.Context) error {
			if err := checkGlobals(ctx); err != nil {
				return err
			}
			if before != nil {
				return before(ctx)
			}
			return nil
		}
		if len(c.Subcommands) > 0 {
			if c.Action == nil {
				c.Action = parentAction
			}
			prepareCommands(c.Subcommands)
		}
	}
}

// parentAction runs for a command that only groups subcommands: without
// arguments it shows the help; otherwise the first argument named no
// subcommand.
func parentAction(c *cli.Context) error {
	if c.Args().Present() {
		name := "veritrial"
		if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
			name = c.Command.HelpName
		}
		return usageErrorf("unknown command %q: see %s --help", c.Args().First(), name)
	}
	if checkGlobals(c) == nil && isJSON(c) {
		return usageErrorf("no command given: see %s --help", c.App.Name)
	}
	return cli.ShowSubcommandHelp(c)
}

// onUsageError turns a flag parsing error into a usage error with a hint.
func onUsageError(c *cli.Context, err error, _ bool) error {
	name := c.App.Name
	if c.Command != nil && c.Command.HelpName != "" {
		name = c.Command.HelpName
	}
	return usageErrorf("%v: see %s --help", err, name)
}
