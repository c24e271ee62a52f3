package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(StopAndExit))
}

func queryOne(t *testing.T, url, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func TestShared_PrivateClusterServesTheTestDatabaseOnLoopbackOnly(t *testing.T) {
	t.Setenv(URLEnv, "")
	srv := Shared(t)
	if srv != Shared(t) {
		t.Fatal("a second call started another server")
	}
	if got := queryOne(t, srv.URL(), "SELECT current_database()"); got != Database {
		t.Errorf("database %q, want %q", got, Database)
	}
	if got := queryOne(t, srv.URL(), "SHOW listen_addresses"); got != "127.0.0.1" {
		t.Errorf("listen_addresses %q", got)
	}
	if got := queryOne(t, srv.URL(), "SHOW unix_socket_directories"); got != "" {
		t.Errorf("unix_socket_directories %q, want none", got)
	}
	hba := queryOne(t, srv.URL(), "SELECT string_agg(DISTINCT coalesce(address, 'local') || ' ' || auth_method, ', ') FROM pg_hba_file_rules")
	if hba != "127.0.0.1 trust, ::1 trust" {
		t.Errorf("pg_hba rules %q, want trust for loopback addresses only", hba)
	}
	dir := queryOne(t, srv.URL(), "SHOW data_directory")
	if rel, err := filepath.Rel(filepath.Join(repoRoot(), "_build", "pgtest"), dir); err != nil || filepath.IsAbs(rel) || rel[0] == '.' {
		t.Errorf("data directory %s is not under _build/pgtest", dir)
	}
}

func TestNew_CrashAndRestartKeepCommittedRowsAndRemoveRemovesTheCluster(t *testing.T) {
	var dataDir string
	t.Run("cluster", func(t *testing.T) {
		srv := New(t)
		dataDir = srv.cluster.dataDir()
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE kept AS SELECT 'committed'::text AS v"); err != nil {
			t.Fatal(err)
		}
		_ = conn.Close(ctx)
		srv.Crash(t)
		down, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(down, srv.URL()); err == nil {
			_ = conn.Close(down)
			t.Fatal("the crashed server still answers")
		}
		srv.Restart(t)
		if got := queryOne(t, srv.URL(), "SELECT v FROM kept"); got != "committed" {
			t.Errorf("after crash recovery: %q", got)
		}
	})
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Errorf("the cluster's directory %s is still there after the test: %v", dataDir, err)
	}
}

func TestShared_ExternalServerFromEnvironmentIsUsedAsGiven(t *testing.T) {
	if err := checkURL("postgres://app@db.internal:5433/logs?sslmode=require"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"host=db dbname=logs", "http://db/logs", "postgres:///logs"} {
		if err := checkURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNew_StopsAndRemovesClustersOfTestProcessesThatDied(t *testing.T) {
	// A cluster whose test process was killed: started here, then renamed to the pid of a process that has exited.
	abandoned, err := startCluster()
	if err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(filepath.Dir(abandoned.cluster.root), fmt.Sprintf("%d-orphan", dead.Process.Pid))
	if err := os.Rename(abandoned.cluster.root, orphan); err != nil {
		t.Fatal(err)
	}

	New(t)
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Errorf("the abandoned cluster %s is still there: %v", orphan, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, abandoned.URL()); err == nil {
		_ = conn.Close(ctx)
		t.Error("the abandoned cluster's server still runs")
	}
}
