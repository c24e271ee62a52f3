package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicksPerSecond is Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat on every architecture
// Go supports (it is fixed in the kernel ABI, unlike the kernel's internal HZ).
const clockTicksPerSecond = 100

// cpuSeconds is the CPU time the process has used so far, user plus system, over all its threads (utime + stime,
// fields 14 and 15 of /proc/<pid>/stat).
func cpuSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
	end := bytes.LastIndexByte(raw, ')')
	if end < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, raw)
	}
	fields := strings.Fields(string(raw[end+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, raw)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64) // field 14: the first after ')' is field 3
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, raw)
	}
	return float64(utime+stime) / clockTicksPerSecond, nil
}

// peakRSS is the process's resident set high-water mark in bytes.
func peakRSS(pid int) (int64, error) { return statusBytes(pid, "VmHWM") }

// rss is the process's resident set now, in bytes.
func rss(pid int) (int64, error) { return statusBytes(pid, "VmRSS") }

// statusBytes reads a "<field>: <n> kB" line of /proc/<pid>/status.
func statusBytes(pid int, field string) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("unexpected %s line %q", field, line)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// machineBusySeconds is the CPU time all processes have used so far, summed over every core: the busy fields of
// the "cpu" line of /proc/stat (user, nice, system, irq, softirq, steal; idle and iowait left out).
func machineBusySeconds() (float64, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat: %q", line)
	}
	var busy int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseInt(fields[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc/stat: %q", line)
		}
		busy += v
	}
	return float64(busy) / clockTicksPerSecond, nil
}
