package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/veritrial/veritrial/app/client"
	"github.com/veritrial/veritrial/app/types"
)

// ledgerClient connects to the node chosen by --node.
func ledgerClient(c *cli.Context) (*client.Client, error) {
	addr, err := nodeAddr(c)
	if err != nil {
		return nil, err
	}
	cl, err := client.New(addr)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	return cl, nil
}

// nodeError maps a client error to the CLI's exit codes.
func nodeError(err error) error {
	if errors.Is(err, client.ErrNoNode) {
		return unavailableErrorf("%v", err)
	}
	return failf("%v", err)
}

// txOutcome is what every write prints.
type txOutcome struct {
	TxHash string     `json:"tx_hash"`
	Height int64      `json:"height"`
	Code   types.Code `json:"code"`
	Name   string     `json:"code_name"`
	Log    string     `json:"log"`
	Stage  string     `json:"stage,omitempty"`
}

// send signs msg with the --from key (its name is the account ID), waits
// for the block and prints the outcome; a rejection exits non-zero with
// the ledger's code and message.
func send(c *cli.Context, msg types.Msg, success string) error {
	account, err := fromKey(c)
	if err != nil {
		return err
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, 2*time.Minute)
	defer cancel()
	if _, err := cl.ChainID(ctx); err != nil {
		return nodeError(err)
	}
	s, err := signer(c)
	if err != nil {
		return err
	}
	defer s.Close()
	res, err := cl.Send(ctx, account, s, msg)
	if err != nil {
		return nodeError(err)
	}
	return printOutcome(c, res, success)
}

func printOutcome(c *cli.Context, res *client.Result, success string) error {
	out := txOutcome{TxHash: res.Hash, Height: res.Height, Code: res.Code, Name: res.Name, Log: res.Log, Stage: res.Stage}
	if !res.OK() {
		if isJSON(c) {
			if err := emitJSON(c, out); err != nil {
				return err
			}
		}
		where := "in block " + fmt.Sprint(res.Height)
		if res.Stage == "check" {
			where = "before entering a block"
		}
		return rejectedErrorf("rejected %s: code %d (%s): %s", where, res.Code, res.Name, res.Log)
	}
	return emit(c, out, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s\n  tx %s, height %d\n", success, res.Hash, res.Height)
		return err
	})
}

// sendResult is send that also returns the ledger's result (for commands
// that report what the tx created); the outcome is not printed.
func sendResult(c *cli.Context, msg types.Msg) (*client.Result, error) {
	account, err := fromKey(c)
	if err != nil {
		return nil, err
	}
	cl, err := ledgerClient(c)
	if err != nil {
		return nil, err
	}
	if _, err := cl.ChainID(c.Context); err != nil {
		return nil, nodeError(err)
	}
	s, err := signer(c)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	res, err := cl.Send(c.Context, account, s, msg)
	if err != nil {
		return nil, nodeError(err)
	}
	return res, nil
}
