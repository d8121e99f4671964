package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/state"
	"github.com/cometbft/cometbft/store"
)

// SignedAppHash returns the app hash the consortium agreed on after
// height, from the home's stopped node: the header of height+1 when the
// block store holds it (signed by the validators that committed it), else
// the app hash CometBFT's state recorded for height. source says which.
func SignedAppHash(conf *cmtcfg.Config, height int64) (hash []byte, source string, err error) {
	dir := conf.DBDir()
	if _, err := os.Stat(filepath.Join(dir, "blockstore.db")); err != nil {
		return nil, "", errors.New("the home holds no blocks")
	}
	backend := dbm.BackendType(conf.DBBackend)
	bdb, err := dbm.NewDB("blockstore", backend, dir)
	if err != nil {
		return nil, "", err
	}
	defer bdb.Close()
	if m := store.NewBlockStore(bdb).LoadBlockMeta(height + 1); m != nil {
		return m.Header.AppHash, fmt.Sprintf("the header of height %d", height+1), nil
	}
	sdb, err := dbm.NewDB("state", backend, dir)
	if err != nil {
		return nil, "", err
	}
	defer sdb.Close()
	st, err := state.NewStore(sdb, state.StoreOptions{}).Load()
	if err != nil {
		return nil, "", err
	}
	if st.LastBlockHeight != height {
		return nil, "", fmt.Errorf("CometBFT's state is at height %d and the block store holds no header of height %d", st.LastBlockHeight, height+1)
	}
	return st.AppHash, fmt.Sprintf("CometBFT's state after height %d", height), nil
}
