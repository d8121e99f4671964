package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/keyring"
)

// keyJSON is a key as --output json shows it.
type keyJSON struct {
	Name    string `json:"name"`
	PubKey  string `json:"pubkey"`
	Created string `json:"created"`
}

func keyDoc(i keyring.Info) keyJSON {
	return keyJSON{Name: i.Name, PubKey: i.PubKeyBase64(), Created: i.Created.UTC().Format(time.RFC3339)}
}

func keysCommand() *cli.Command {
	return &cli.Command{
		Name:     "keys",
		Category: categoryKeys,
		Usage:    "manage the encrypted ed25519 keys in the home's keyring",
		UsageText: `veritrial keys add|list|show|import|export|delete [arguments...]

Example:
   veritrial keys add alice-investigator --passphrase-file ~/.alice-pass
   veritrial keys show alice-investigator`,
		Description: `Keys live in <home>/keyring, one file per key, each encrypted under its
passphrase (argon2id key derivation, XChaCha20-Poly1305). The passphrase comes
from --passphrase-file, else VERITRIAL_PASSPHRASE, else a prompt without echo.
For a new key, an imported key and an exported key block, ` + keyring.PassphraseRule + `.`,
		Subcommands: []*cli.Command{
			keysAddCommand(), keysListCommand(), keysShowCommand(),
			keysImportCommand(), keysExportCommand(), keysDeleteCommand(),
		},
	}
}

func keysAddCommand() *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "create a new key",
		ArgsUsage: "NAME",
		UsageText: `veritrial keys add NAME

Example:
   veritrial keys add site2-coordinator
   VERITRIAL_PASSPHRASE=... veritrial keys add site2-coordinator --output json`,
		Description: `Generates an ed25519 key, stores it encrypted under the passphrase and prints
its public key: give that to your organisation's admin for veritrial account
add. Names: 1 to 64 lowercase letters, digits, '.', '_' or '-'.`,
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, "name"); err != nil {
				return err
			}
			name := c.Args().First()
			if err := keyring.ValidateName(name); err != nil {
				return keyringError(err)
			}
			kr, err := openKeyring(c, true)
			if err != nil {
				return err
			}
			if _, err := kr.Show(name); err == nil {
				return usageErrorf("a key named %q already exists in %s: choose another name", name, kr.Dir())
			}
			pass, err := newPassphrase(c, "Passphrase for the new key "+name+": ")
			if err != nil {
				return err
			}
			info, err := kr.Add(name, pass)
			if err != nil {
				return keyringError(err)
			}
			return emit(c, keyDoc(info), func(w io.Writer) error {
				printf(w, "Created key %s.\nPublic key: %s\n", info.Name, info.PubKeyBase64())
				return nil
			})
		},
	}
}

func keysListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the keys (no passphrase needed)",
		UsageText: `veritrial keys list

Example:
   veritrial keys list --home ./site1-home --output json`,
		Action: func(c *cli.Context) error {
			if err := exactArgs(c); err != nil {
				return err
			}
			kr, err := openKeyring(c, false)
			if err != nil {
				return err
			}
			infos, err := kr.List()
			if err != nil {
				return keyringError(err)
			}
			docs := make([]keyJSON, 0, len(infos))
			for _, i := range infos {
				docs = append(docs, keyDoc(i))
			}
			return emit(c, map[string]any{"keys": docs}, func(w io.Writer) error {
				if len(docs) == 0 {
					printf(w, "No keys in %s: create one with veritrial keys add NAME.\n", kr.Dir())
					return nil
				}
				t := newTable(w)
				t.row("NAME", "PUBLIC KEY", "CREATED")
				for _, d := range docs {
					t.row(d.Name, d.PubKey, d.Created)
				}
				return t.flush()
			})
		},
	}
}

func keysShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "print a key's base64 public key (what veritrial account add needs)",
		ArgsUsage: "NAME",
		UsageText: `veritrial keys show NAME

Example:
   veritrial keys show site1-investigator
   PUBKEY=$(veritrial keys show site1-investigator)`,
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, "name"); err != nil {
				return err
			}
			kr, err := openKeyring(c, false)
			if err != nil {
				return err
			}
			info, err := kr.Show(c.Args().First())
			if err != nil {
				return keyringError(err)
			}
			return emit(c, keyDoc(info), func(w io.Writer) error {
				printf(w, "%s\n", info.PubKeyBase64())
				return nil
			})
		},
	}
}

const flagExportPassFile = "export-passphrase-file"

func keysImportCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "import a key exported with veritrial keys export (or a raw seed with --raw)",
		ArgsUsage: "NAME FILE",
		UsageText: `veritrial keys import NAME FILE [--export-passphrase-file F] [--raw]

Example:
   veritrial keys import site1-investigator investigator.key --export-passphrase-file transfer-pass
   veritrial keys import legacy-key seed.b64 --raw`,
		Description: `FILE is an armored key block written by veritrial keys export, protected by
the export passphrase (--export-passphrase-file, else a prompt). With --raw, FILE
holds an ed25519 seed (32 bytes) or private key (64 bytes) in base64 or hex.
The key is stored under NAME, encrypted under the keyring passphrase.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: flagExportPassFile, Usage: "file whose first line is the passphrase protecting FILE", TakesFile: true},
			&cli.BoolFlag{Name: "raw", Usage: "FILE holds a raw ed25519 seed or private key in base64 or hex"},
		},
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, "name", "file"); err != nil {
				return err
			}
			name, file := c.Args().Get(0), c.Args().Get(1)
			if err := keyring.ValidateName(name); err != nil {
				return keyringError(err)
			}
			data, err := readInputFile(file, "key file", maxSmallFile)
			if err != nil {
				return err
			}
			kr, err := openKeyring(c, true)
			if err != nil {
				return err
			}
			if _, err := kr.Show(name); err == nil {
				return usageErrorf("a key named %q already exists in %s: choose another name", name, kr.Dir())
			}
			var info keyring.Info
			if c.Bool("raw") {
				seed, err := decodeRawKey(data)
				if err != nil {
					return inputErrorf("%s: %v", file, err)
				}
				defer clear(seed)
				pass, err := newPassphrase(c, "Passphrase for the imported key "+name+": ")
				if err != nil {
					return err
				}
				if info, err = kr.Import(name, pass, seed); err != nil {
					return keyringError(err)
				}
			} else {
				filePass, err := exportPassphrase(c, "Passphrase of the exported key in "+file+": ", false)
				if err != nil {
					return err
				}
				pass, err := newPassphrase(c, "Passphrase for the imported key "+name+" in this keyring: ")
				if err != nil {
					return err
				}
				if info, err = kr.ImportArmored(name, data, filePass, pass); err != nil {
					return keyringError(err)
				}
			}
			return emit(c, keyDoc(info), func(w io.Writer) error {
				printf(w, "Imported key %s.\nPublic key: %s\n", info.Name, info.PubKeyBase64())
				return nil
			})
		},
	}
}

// decodeRawKey reads a 32-byte seed or 64-byte ed25519 private key written
// in hex or base64.
func decodeRawKey(data []byte) ([]byte, error) {
	s := strings.TrimSpace(string(data))
	if b, err := hex.DecodeString(s); err == nil && (len(b) == 32 || len(b) == 64) {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && (len(b) == 32 || len(b) == 64) {
			return b, nil
		}
	}
	return nil, errors.New("not an ed25519 seed (32 bytes) or private key (64 bytes) in hex or base64")
}

// exportPassphrase reads the passphrase protecting an exported key block
// from --export-passphrase-file or the terminal (asked twice when choosing
// one).
func exportPassphrase(c *cli.Context, prompt string, choose bool) (string, error) {
	file := c.String(flagExportPassFile)
	var (
		p   string
		err error
	)
	if choose {
		p, err = keyring.ResolveNewPassphrase(file, "", false, prompt)
	} else {
		p, err = keyring.ResolvePassphrase(file, "", false, prompt)
	}
	if errors.Is(err, keyring.ErrNoTerminal) {
		return "", keyErrorf("no terminal to ask for the export passphrase: pass --%s", flagExportPassFile)
	}
	if err != nil {
		return "", keyringError(err)
	}
	return p, nil
}

func keysExportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "write a key as an encrypted, armored block to move it to another machine",
		ArgsUsage: "NAME",
		UsageText: `veritrial keys export NAME [--out FILE] [--export-passphrase-file F] [--force]

Example:
   veritrial keys export site1-investigator --out investigator.key --export-passphrase-file transfer-pass`,
		Description: `Unlocks the key with the keyring passphrase and writes it re-encrypted under
the export passphrase (--export-passphrase-file, else asked twice at the
prompt). Without --out the block is printed on stdout. Import it elsewhere with
veritrial keys import.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "write the block to this file (mode 0600) instead of stdout", TakesFile: true},
			&cli.StringFlag{Name: flagExportPassFile, Usage: "file whose first line is the export passphrase", TakesFile: true},
			&cli.BoolFlag{Name: "force", Usage: "replace --out if it exists"},
		},
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, "name"); err != nil {
				return err
			}
			out, err := nonEmptyFlag(c, "out")
			if err != nil {
				return err
			}
			if err := checkOutFree(out, c.Bool("force")); err != nil {
				return err
			}
			name := c.Args().First()
			kr, err := openKeyring(c, false)
			if err != nil {
				return err
			}
			if _, err := kr.Show(name); err != nil {
				return keyringError(err)
			}
			pass, err := passphrase(c, "Passphrase for key "+name+": ")
			if err != nil {
				return err
			}
			exportPass, err := exportPassphrase(c, "Export passphrase for "+name+": ", true)
			if err != nil {
				return err
			}
			block, err := kr.Export(name, pass, exportPass)
			if err != nil {
				return keyringError(err)
			}
			if out == "" {
				return emit(c, map[string]any{"name": name, "armored": string(block)}, func(w io.Writer) error {
					return writeVerbatim(w, block)
				})
			}
			if err := writeFileAtomic(out, block, 0o600, c.Bool("force")); err != nil {
				return err
			}
			return emit(c, map[string]any{"name": name, "file": out}, func(w io.Writer) error {
				printf(w, "Exported key %s to %s (encrypted under the export passphrase).\n", name, out)
				return nil
			})
		},
	}
}

func keysDeleteCommand() *cli.Command {
	return &cli.Command{
		Name:      "delete",
		Usage:     "delete a key (its passphrase proves you own it)",
		ArgsUsage: "NAME",
		UsageText: `veritrial keys delete NAME

Example:
   veritrial keys delete old-coordinator --passphrase-file pass.txt`,
		Description: `Removes the key file. There is no undo: export the key first if you may need
it. A key registered on the ledger should be revoked there too (veritrial
account revoke).`,
		Action: func(c *cli.Context) error {
			if err := exactArgs(c, "name"); err != nil {
				return err
			}
			name := c.Args().First()
			kr, err := openKeyring(c, false)
			if err != nil {
				return err
			}
			if _, err := kr.Show(name); err != nil {
				return keyringError(err)
			}
			pass, err := passphrase(c, "Passphrase for key "+name+" (to delete it): ")
			if err != nil {
				return err
			}
			if err := kr.Delete(name, pass); err != nil {
				return keyringError(err)
			}
			return emit(c, map[string]any{"deleted": name}, func(w io.Writer) error {
				printf(w, "Deleted key %s.\n", name)
				return nil
			})
		},
	}
}
