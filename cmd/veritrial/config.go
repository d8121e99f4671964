package main

import (
	"errors"
	"io/fs"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/node"
)

// loadNodeConfig reads the home's config.toml (node.LoadConfig) and says
// in one sentence, with the CLI's exit code, why it cannot.
func loadNodeConfig(home string) (*cmtcfg.Config, error) {
	conf, err := node.LoadConfig(home)
	var pe *fs.PathError
	switch {
	case err == nil:
		return conf, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, usageErrorf("no veritrial home at %s (no config/config.toml): create one with veritrial init, or pass --home", home)
	case errors.As(err, &pe):
		return nil, failf("cannot read %s: %v", node.ConfigFile(home), pathError(err))
	}
	return nil, inputErrorf("%v", err)
}

// homeConfig returns the home chosen by --home and its CometBFT
// configuration.
func homeConfig(c *cli.Context) (string, *cmtcfg.Config, error) {
	home, err := homeDir(c)
	if err != nil {
		return "", nil, err
	}
	conf, err := loadNodeConfig(home)
	return home, conf, err
}
