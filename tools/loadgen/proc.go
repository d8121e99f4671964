package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTicks = 100

// cpuUse is the CPU a process used during the measured phase; 100 is one
// core busy all the time.
type cpuUse struct {
	Node    string  `json:"node"`
	PID     int     `json:"pid"`
	Percent float64 `json:"percent"`
}

// cpuSample holds the CPU ticks of processes at one moment; the loadgen
// itself is the last entry.
type cpuSample struct {
	at    time.Time
	ticks []int64
}

func sampleCPU(pids []int) cpuSample {
	s := cpuSample{at: time.Now()}
	for _, pid := range append(append([]int(nil), pids...), os.Getpid()) {
		t, err := procTicks(pid)
		if err != nil {
			t = -1
		}
		s.ticks = append(s.ticks, t)
	}
	return s
}

// procTicks returns utime+stime of pid.
func procTicks(pid int) (int64, error) {
	bz, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatTicks(string(bz))
}

// parseStatTicks reads utime and stime (fields 14 and 15) of a
// /proc/<pid>/stat line; the command name in parentheses may hold spaces.
func parseStatTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("not a /proc stat line")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat line")
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, err
	}
	return u + s, nil
}

// cpuUsage turns two samples into percentages per node and of the
// loadgen.
func cpuUsage(pids []int, nodes []string, a, b cpuSample) []cpuUse {
	secs := b.at.Sub(a.at).Seconds()
	if secs <= 0 {
		return nil
	}
	var out []cpuUse
	for i := range a.ticks {
		if a.ticks[i] < 0 || b.ticks[i] < 0 {
			continue
		}
		pct := math.Round(float64(b.ticks[i]-a.ticks[i])/clockTicks/secs*1000) / 10
		if i < len(pids) {
			out = append(out, cpuUse{Node: nodes[i], PID: pids[i], Percent: pct})
		} else {
			out = append(out, cpuUse{Node: "loadgen", PID: os.Getpid(), Percent: pct})
		}
	}
	return out
}
