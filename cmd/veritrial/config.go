package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/spf13/viper"
)

// configFile is the home's CometBFT config.toml.
func configFile(home string) string { return filepath.Join(home, "config", "config.toml") }

// appDataDir is where the application's IAVL database lives.
func appDataDir(home string) string { return filepath.Join(home, "data", "app") }

// loadNodeConfig reads the home's config.toml over CometBFT's defaults and
// checks it.
func loadNodeConfig(home string) (*cmtcfg.Config, error) {
	path := configFile(home)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usageErrorf("no veritrial home at %s (no config/config.toml): create one with veritrial init, or pass --home", home)
		}
		return nil, failf("cannot read %s: %v", path, pathError(err))
	}
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("toml")
	if err := v.ReadInConfig(); err != nil {
		return nil, inputErrorf("%s is not a valid CometBFT config file: %v", path, err)
	}
	conf := cmtcfg.DefaultConfig()
	if err := v.Unmarshal(conf); err != nil {
		return nil, inputErrorf("%s has a value of the wrong type: %v", path, err)
	}
	conf.SetRoot(home)
	if err := conf.ValidateBasic(); err != nil {
		return nil, inputErrorf("%s is not usable: %v", path, err)
	}
	return conf, nil
}

// homeRPCAddr returns the RPC listen address in the home's config.toml, if
// there is a readable one.
func homeRPCAddr(home string) (string, bool) {
	path := configFile(home)
	if _, err := os.Stat(path); err != nil {
		return "", false
	}
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("toml")
	if err := v.ReadInConfig(); err != nil {
		return "", false
	}
	laddr := v.GetString("rpc.laddr")
	return laddr, laddr != ""
}
