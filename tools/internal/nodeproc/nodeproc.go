// Package nodeproc runs node processes for the measurement tools, asks a
// node's RPC /status where its chain is, and reads the machine's load
// average for their reports.
package nodeproc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/veritrial/veritrial/app/node"
)

// Proc is a node process logging to a file.
type Proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs bin with args, appending its output to the file logPath.
func Start(bin, logPath string, args ...string) (*Proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// PID is the process ID.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits for the process to end (SIGKILL after a
// minute).
func (p *Proc) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// Status is where a node's chain is.
type Status struct {
	Height     int64
	CatchingUp bool
}

// GetStatus asks the node at rpc (host:port) for its /status, within 5 s.
func GetStatus(rpc string) (*Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+rpc+"/status", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	bz, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r struct {
		Result struct {
			SyncInfo struct {
				Height     string `json:"latest_block_height"`
				CatchingUp bool   `json:"catching_up"`
			} `json:"sync_info"`
		} `json:"result"`
	}
	if err := json.Unmarshal(bz, &r); err != nil {
		return nil, err
	}
	h, err := strconv.ParseInt(r.Result.SyncInfo.Height, 10, 64)
	return &Status{Height: h, CatchingUp: r.Result.SyncInfo.CatchingUp}, err
}

// Height is the node's last committed height.
func Height(rpc string) (int64, error) {
	st, err := GetStatus(rpc)
	if err != nil {
		return 0, err
	}
	return st.Height, nil
}

// WaitHeight waits until the node at rpc has committed height min.
func WaitHeight(rpc string, min int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if h, err := Height(rpc); err == nil && h >= min {
			return nil
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("the node at %s did not reach height %d within %s", rpc, min, within)
}

// LoadAvg is the machine's /proc/loadavg ("" where there is none): a
// measurement on a shared machine reports it.
func LoadAvg() string {
	bz, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(bz))
}

// EnablePprof turns on the pprof server of the node at home, on
// 127.0.0.1:port, in its config.toml.
func EnablePprof(home string, port int) error {
	path := node.ConfigFile(home)
	bz, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	const off = `pprof_laddr = ""`
	if !strings.Contains(string(bz), off) {
		return fmt.Errorf("%s: no %s line to turn pprof on", path, off)
	}
	s := strings.Replace(string(bz), off, fmt.Sprintf(`pprof_laddr = "127.0.0.1:%d"`, port), 1)
	return os.WriteFile(path, []byte(s), 0o600)
}
