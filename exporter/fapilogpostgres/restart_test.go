package fapilogpostgres

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// privateServer is a throwaway PostgreSQL cluster in a temporary directory, on its own port and socket
// directory, so that a test can crash and restart it without disturbing the shared server other packages use.
type privateServer struct {
	t       *testing.T
	bindir  string
	dataDir string
	sockDir string
	logFile string
	port    int
	// asUser runs the server binaries as this user ("" for the current one): PostgreSQL refuses to run as root.
	asUser string
}

func postgresBindir(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		t.Fatal("PostgreSQL server binaries (initdb, pg_ctl) not found via pg_config --bindir or /usr/lib/postgresql/*/bin")
	}
	sort.Strings(matches)
	return filepath.Dir(matches[len(matches)-1])
}

func startPrivateServer(t *testing.T) *privateServer {
	t.Helper()
	s := &privateServer{t: t, bindir: postgresBindir(t), port: freePort(t)}
	root := t.TempDir()
	s.dataDir, s.sockDir, s.logFile = filepath.Join(root, "data"), filepath.Join(root, "sock"), filepath.Join(root, "server.log")
	require.NoError(t, os.Mkdir(s.sockDir, 0o700))
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root needs the postgres user to run the server")
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		s.asUser = "postgres"
		// The postgres user must reach the directory: open the test's temporary directories for traversal only.
		for dir := root; dir != os.TempDir() && dir != "/"; dir = filepath.Dir(dir) {
			require.NoError(t, os.Chmod(dir, 0o711))
		}
		require.NoError(t, os.Chown(root, uid, gid))
		require.NoError(t, os.Chown(s.sockDir, uid, gid))
	}
	s.run("initdb", "-D", s.dataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "-N", "--no-instructions")
	s.start()
	t.Cleanup(func() { _ = s.command("pg_ctl", "-D", s.dataDir, "-m", "immediate", "-w", "stop").Run() })
	return s
}

func (s *privateServer) command(name string, args ...string) *exec.Cmd {
	bin := filepath.Join(s.bindir, name)
	if s.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", s.asUser, "--", bin}, args...)...)
	}
	return exec.Command(bin, args...)
}

func (s *privateServer) run(name string, args ...string) {
	s.t.Helper()
	out, err := s.command(name, args...).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(s.logFile)
		s.t.Fatalf("%s %v: %v\n%s\nserver log:\n%s", name, args, err, out, log)
	}
}

func (s *privateServer) start() {
	s.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=30", s.port, s.sockDir)
	s.run("pg_ctl", "-D", s.dataDir, "-l", s.logFile, "-o", opts, "-w", "start")
}

// crash stops the server the hard way (SIGQUIT to every backend, no checkpoint): recovery runs at the next start.
func (s *privateServer) crash() {
	s.t.Helper()
	s.run("pg_ctl", "-D", s.dataDir, "-m", "immediate", "-w", "stop")
}

func (s *privateServer) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestRestart_PostgreSQLCrashedMidLoadLosesNothingAndDuplicatesNothing(t *testing.T) {
	srv := startPrivateServer(t)
	cfg := createDefaultConfig().(*Config)
	cfg.DSN = configopaque.String(srv.dsn())
	fastRetries(cfg)
	cfg.QueueConfig.Get().Batch.Get().MinSize = 200 // many COPYs in flight when the server dies
	core, logs := observer.New(zapcore.InfoLevel)
	exp := newFactoryExporter(t, cfg, zap.New(core))
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })

	db := func() *privateDB { return &privateDB{t: t, dsn: srv.dsn()} }
	const total, chunk = 20_000, 100
	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for first := 0; first < total; first += chunk {
			if err := exp.ConsumeLogs(context.Background(), seqLogs(first, chunk)); err != nil {
				t.Errorf("ConsumeLogs: %v", err)
				return
			}
			sent.Add(chunk)
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// Crash once the load is well under way, keep the server down for a while, then restart it.
	waitUntil(t, func() bool { return db().count() >= 2000 })
	srv.crash()
	sentAtCrash := sent.Load()
	time.Sleep(time.Second)
	srv.start()
	afterRestart := db().count()
	t.Logf("records sent when the server crashed: %d; rows present after crash recovery: %d", sentAtCrash, afterRestart)
	assert.Less(t, sentAtCrash, int64(total), "the crash happened mid-load")
	assert.Less(t, afterRestart, total, "rows were still missing when the server came back")
	<-done

	waitUntil(t, func() bool { return db().count() >= total })
	time.Sleep(200 * time.Millisecond) // a duplicate would arrive now, if at all
	d := db()
	assert.Equal(t, total, d.count(), "rows")
	assert.Equal(t, total, d.queryInt("SELECT count(DISTINCT message_id) FROM public.logs"), "distinct message_ids")
	assert.Equal(t, total, d.queryInt("SELECT count(DISTINCT (event->'data'->>'seq')::int) FROM public.logs"), "distinct records")
	assert.NotZero(t, logs.FilterMessageSnippet("Exporting failed. Will retry").Len(), "the crash was noticed")
	assert.Zero(t, logs.FilterMessageSnippet("Dropping data").Len(), "nothing dropped")
}

// privateDB runs one query on a fresh connection each time (the server restarts under the test).
type privateDB struct {
	t   *testing.T
	dsn string
}

func (d *privateDB) count() int {
	n, err := d.tryQueryInt("SELECT count(*) FROM public.logs")
	if err != nil {
		return -1
	}
	return n
}

func (d *privateDB) queryInt(sql string) int {
	n, err := d.tryQueryInt(sql)
	require.NoError(d.t, err, sql)
	return n
}

func (d *privateDB) tryQueryInt(sql string) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, d.dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, sql).Scan(&n)
	return n, err
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 90s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
