// Package pgtest gives tests a PostgreSQL server without touching the machine's own one: the server named by
// FAPILOG_TEST_POSTGRES_URL, or else a private throwaway cluster under _build/pgtest that the test process removes.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URLEnv names an existing server for the tests (a postgres:// URL with its database). When it is unset, the tests
// run their own private cluster and never connect to the machine's PostgreSQL.
const URLEnv = "FAPILOG_TEST_POSTGRES_URL"

// Database is the database a private cluster creates for the tests.
const Database = "test"

// Server is the PostgreSQL server a test talks to.
type Server struct {
	url     string
	cluster *cluster // nil for the server named by URLEnv
}

// URL is the server's postgres:// URL, database included.
func (s *Server) URL() string { return s.url }

// Crash stops a private cluster the hard way (immediate shutdown, no checkpoint): crash recovery runs at the next
// Restart.
func (s *Server) Crash(t testing.TB) {
	t.Helper()
	if err := s.cluster.pgctl("stop", "-m", "immediate"); err != nil {
		t.Fatal(err)
	}
}

// Restart starts a private cluster again on the same port and data after Crash.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.cluster.start(); err != nil {
		t.Fatal(err)
	}
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the test process's server: the one named by URLEnv, or one private cluster started on first use
// and removed by StopAndExit. A test fails (never skips) when no server can be had.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() {
		if u := os.Getenv(URLEnv); u != "" {
			shared.srv, shared.err = &Server{url: u}, checkURL(u)
			return
		}
		shared.srv, shared.err = startCluster()
	})
	if shared.err != nil {
		t.Fatalf("no PostgreSQL server for the tests: %v", shared.err)
	}
	return shared.srv
}

// StopAndExit removes the shared private cluster, if one was started, and exits with code. Call it from TestMain:
// `pgtest.StopAndExit(m.Run())`, or as goleak's cleanup: `goleak.VerifyTestMain(m, goleak.Cleanup(pgtest.StopAndExit))`.
func StopAndExit(code int) {
	if shared.srv != nil && shared.srv.cluster != nil {
		if err := shared.srv.cluster.remove(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// New starts a private cluster for one test alone (one it may crash and restart), removed when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	srv, err := startCluster()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.cluster.remove(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return fmt.Errorf("%s must be a postgres://user@host:port/database URL, got %q", URLEnv, raw)
	}
	return nil
}

// cluster is a PostgreSQL data directory under <repo>/_build/pgtest/<pid>-*, served on a free loopback port.
type cluster struct {
	bindir string
	root   string // holds data/ and server.log; removed with the cluster
	port   int
	// runAs runs the server binaries as this user ("" for the current one): PostgreSQL refuses to run as root.
	runAs string
}

func (c *cluster) dataDir() string { return filepath.Join(c.root, "data") }
func (c *cluster) logFile() string { return filepath.Join(c.root, "server.log") }

var clusterMu sync.Mutex // serialises creation, so two clusters of one process never pick the same port

func startCluster() (*Server, error) {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	bindir, err := serverBindir()
	if err != nil {
		return nil, err
	}
	parent := filepath.Join(repoRoot(), "_build", "pgtest")
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return nil, err
	}
	removeAbandoned(parent, bindir)
	root, err := os.MkdirTemp(parent, strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	c := &cluster{bindir: bindir, root: root}
	if err := c.init(); err != nil {
		_ = os.RemoveAll(root)
		return nil, err
	}
	if err := c.startOnFreePort(); err != nil {
		_ = os.RemoveAll(root)
		return nil, err
	}
	srv := &Server{cluster: c, url: fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, Database)}
	if err := c.createDatabase(); err != nil {
		_ = c.remove()
		return nil, err
	}
	return srv, nil
}

// init runs initdb and restricts the cluster to loopback TCP with trust authentication: no Unix socket, no other
// address, so nothing outside this machine (and no other local user through a socket file) reaches it.
func (c *cluster) init() error {
	if os.Geteuid() == 0 {
		if err := c.handOverToPostgresUser(); err != nil {
			return err
		}
	}
	if err := c.run("initdb", "-D", c.dataDir(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync",
		"--no-instructions"); err != nil {
		return err
	}
	hba := "# pgtest: throwaway test cluster, loopback TCP only\n" +
		"host all all 127.0.0.1/32 trust\n" +
		"host all all ::1/128 trust\n"
	if err := c.writeAsServer(filepath.Join(c.dataDir(), "pg_hba.conf"), hba); err != nil {
		return err
	}
	// The settings (port included) live in pgtest.conf, written by startOnFreePort.
	f, err := os.OpenFile(filepath.Join(c.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString("\ninclude 'pgtest.conf'\n")
	return errors.Join(err, f.Close())
}

// handOverToPostgresUser makes the cluster directory the postgres user's and lets that user traverse (not list)
// the _build directories above it.
func (c *cluster) handOverToPostgresUser() error {
	pg, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root, the server must run as the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(pg.Uid)
	gid, _ := strconv.Atoi(pg.Gid)
	c.runAs = "postgres"
	for dir := filepath.Dir(c.root); dir != repoRoot() && dir != "/"; dir = filepath.Dir(dir) {
		info, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if err := os.Chmod(dir, info.Mode().Perm()|0o001); err != nil {
			return err
		}
	}
	return os.Chown(c.root, uid, gid)
}

func (c *cluster) writeAsServer(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	if c.runAs == "" {
		return nil
	}
	info, err := os.Stat(c.dataDir())
	if err != nil {
		return err
	}
	st := info.Sys().(*syscall.Stat_t)
	return os.Chown(path, int(st.Uid), int(st.Gid))
}

// startOnFreePort writes the port into the cluster's configuration and starts it; another process may take a
// port between the probe and the server's bind, so a few ports are tried.
func (c *cluster) startOnFreePort() error {
	var err error
	for range 3 {
		if c.port, err = freePort(); err != nil {
			return err
		}
		conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = ''\n"+
			"max_connections = 100\nfsync = off\n", c.port)
		if err = c.writeAsServer(filepath.Join(c.dataDir(), "pgtest.conf"), conf); err != nil {
			return err
		}
		if err = c.start(); err == nil {
			return nil
		}
	}
	return err
}

func (c *cluster) start() error {
	return c.pgctl("start", "-l", c.logFile(), "-t", "60")
}

// pgctl runs pg_ctl action on the cluster and waits for it to finish.
func (c *cluster) pgctl(action string, args ...string) error {
	if c == nil {
		return errors.New("pgtest: only a private cluster can be stopped and started (unset " + URLEnv + ")")
	}
	return c.run("pg_ctl", append([]string{action, "-D", c.dataDir(), "-w"}, args...)...)
}

func (c *cluster) run(name string, args ...string) error {
	bin := filepath.Join(c.bindir, name)
	cmd := exec.Command(bin, args...)
	if c.runAs != "" {
		cmd = exec.Command("runuser", append([]string{"-u", c.runAs, "--", bin}, args...)...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(c.logFile())
		return fmt.Errorf("%s %s: %w\n%s\nserver log:\n%s", name, strings.Join(args, " "), err, out, log)
	}
	return nil
}

func (c *cluster) createDatabase() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+Database)
	return err
}

// remove stops the server at once (its data is thrown away) and deletes the cluster's directory.
func (c *cluster) remove() error {
	stopErr := c.pgctl("stop", "-m", "immediate")
	if _, err := os.Stat(filepath.Join(c.dataDir(), "postmaster.pid")); err != nil {
		stopErr = nil // no server runs on this directory (a test crashed it, or it never started): down either way
	}
	if err := os.RemoveAll(c.root); err != nil {
		return err
	}
	return stopErr
}

// removeAbandoned stops and deletes clusters whose test process died without cleaning up (killed, or a panic),
// so they never pile up or keep running.
func removeAbandoned(parent, bindir string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.SplitN(e.Name(), "-", 2)[0])
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		c := &cluster{bindir: bindir, root: filepath.Join(parent, e.Name())}
		if info, err := os.Stat(c.dataDir()); err == nil && os.Geteuid() == 0 {
			if st := info.Sys().(*syscall.Stat_t); st.Uid != 0 {
				c.runAs = "postgres"
			}
		}
		_ = c.remove()
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// serverBindir finds initdb and pg_ctl: pg_config's bindir, the directory of an initdb on PATH, or Debian's
// /usr/lib/postgresql/<newest>/bin.
func serverBindir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(real))
		}
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(debian, func(i, j int) bool { return majorVersion(debian[i]) > majorVersion(debian[j]) })
	candidates = append(candidates, debian...)
	for _, dir := range candidates {
		if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "pg_ctl")) && isFile(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("the PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed: looked in %v. "+
		"Install them (Debian: apt-get install postgresql; scripts/services.sh does it) or set %s to a server", candidates, URLEnv)
}

func majorVersion(bindir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(bindir)), 64)
	return v
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// repoRoot is the module root, found from this file's location (tests run in their package's directory).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}
