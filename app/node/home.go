package node

import (
	"fmt"
	"os"
	"path/filepath"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/spf13/viper"
)

// ConfigFile is a home's CometBFT configuration file, config/config.toml.
func ConfigFile(home string) string {
	return filepath.Join(home, cmtcfg.DefaultConfigDir, "config.toml")
}

// AppDataDir is where a home keeps the ledger's state (its IAVL
// database), next to CometBFT's stores in data/.
func AppDataDir(home string) string { return filepath.Join(home, cmtcfg.DefaultDataDir, "app") }

// KeyringDir is where a home keeps its encrypted keys.
func KeyringDir(home string) string { return filepath.Join(home, "keyring") }

// LoadConfig reads home's config.toml over CometBFT's defaults, roots it
// at home and checks it. A home without the file gives the *fs.PathError
// of os.Stat (errors.Is fs.ErrNotExist); a file that cannot be parsed or
// used gives an error naming it.
func LoadConfig(home string) (*cmtcfg.Config, error) {
	path := ConfigFile(home)
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	v, err := readTOML(path)
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid CometBFT config file: %w", path, err)
	}
	conf := cmtcfg.DefaultConfig()
	if err := v.Unmarshal(conf); err != nil {
		return nil, fmt.Errorf("%s has a value of the wrong type: %w", path, err)
	}
	conf.SetRoot(home)
	if err := conf.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%s is not usable: %w", path, err)
	}
	return conf, nil
}

// RPCAddr returns the RPC listen address in home's config.toml, if the
// file is there, readable and names one.
func RPCAddr(home string) (string, bool) {
	path := ConfigFile(home)
	if _, err := os.Stat(path); err != nil {
		return "", false
	}
	v, err := readTOML(path)
	if err != nil {
		return "", false
	}
	laddr := v.GetString("rpc.laddr")
	return laddr, laddr != ""
}

// readTOML reads a TOML file with viper.
func readTOML(path string) (*viper.Viper, error) {
	v := viper.New()
	v.SetConfigFile(path)
	v.SetConfigType("toml")
	return v, v.ReadInConfig()
}
