package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profile captures a CPU profile of one target's collector (the pprof extension, enabled for this run only)
// while telemetrygen loads it, and prints how many records it delivered during the profile.
func profile(o *options, workDir string) error {
	var t target
	for _, c := range append(fileTargets(o), networkTargets(o)...) {
		if c.name() == o.profile {
			t = c
		}
	}
	if t == nil {
		return fmt.Errorf("no target %q", o.profile)
	}
	dir := filepath.Join(workDir, "profile")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r := &runResult{extra: map[string]float64{}}
	defer t.finish(r)
	settings, env, err := t.setup(dir)
	if err != nil {
		return err
	}
	c, err := startCollector(t.binary(), dir, t.exporterID(), settings, env, true)
	if err != nil {
		return err
	}
	defer c.stop(60 * time.Second)
	const warmup = 3 * time.Second
	window := time.Duration(o.profileSeconds) * time.Second
	l := load{telemetrygen: o.telemetrygen, workers: o.workers, duration: warmup + window + 3*time.Second}
	tg, err := l.start(c.grpcEndpoint, dir)
	if err != nil {
		return err
	}
	defer stopAll(tg)
	time.Sleep(warmup)
	before, err := c.metrics()
	if err != nil {
		return err
	}
	resp, err := http.Get(fmt.Sprintf("%s/profile?seconds=%d", c.pprofURL, o.profileSeconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s/profile: %s", c.pprofURL, resp.Status)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	after, err := c.metrics()
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.profileOut, raw, 0o644); err != nil {
		return err
	}
	fmt.Printf("records delivered during the profile: %.0f\n", t.reported(after)-t.reported(before))
	return nil
}
