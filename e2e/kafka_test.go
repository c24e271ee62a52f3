package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestE2E_KafkaTierConsumerKilledUnderLoadLosesNothingAndStoresNothingTwice runs the Kafka tier as shipped
// (deploy/kafka/agent.yaml and gateway.yaml) against an in-process Kafka (franz-go's kfake): the agent produces
// ~20k records into a 6-partition topic, three gateways consume it as one group into PostgreSQL, and one of them
// is SIGKILLed under load. Its partitions move to the two others, which read again what it had not committed:
// every record the agent acknowledged is in PostgreSQL exactly once.
func TestE2E_KafkaTierConsumerKilledUnderLoadLosesNothingAndStoresNothingTwice(t *testing.T) {
	const topic = "fapilog-logs"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	broker := cluster.ListenAddrs()[0]
	pg := NewPostgresSchema(t, "fapilog_kafka_")

	gateways := make([]*fleetGateway, 3)
	for i := range gateways {
		gateways[i] = startGateway(t, "deploy/kafka/gateway.yaml", "127.0.0.1", "FAPILOG_KAFKA_BROKER="+broker)
	}
	agent := StartWithEnv(t, ShippedConfig(t, "deploy/kafka/agent.yaml"), nil, []string{
		"FAPILOG_KAFKA_BROKER=" + broker,
		"FAPILOG_QUEUE_DIRECTORY=" + filepath.Join(t.TempDir(), "queue"),
		"FAPILOG_FILELOG_INCLUDE=" + filepath.Join(t.TempDir(), "*.jsonl"),
	})
	load := newLoadSender(t, agent.GRPCEndpoint)
	rows := func() int { return pg.Int("SELECT count(*) FROM " + pg.Table("logs")) }

	// 20,000 records in 200 requests over about 10 s; one consumer dies once 5,000 rows are stored.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 200 {
			load.send(100)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	Eventually(t, 60*time.Second, func() bool { return rows() >= 5000 }, "no rows arrived; agent log:\n%s\ngateway log:\n%s",
		agent.Stderr.String(), gateways[0].Stderr.String())
	beforeKill := make([]int64, len(gateways))
	for i, g := range gateways {
		beforeKill[i] = g.readAccepted()
	}
	killed := gateways[2]
	killed.Kill(t)
	rowsAtKill := rows()
	<-done

	acked := len(load.acked)
	Eventually(t, 90*time.Second, func() bool { return rows() >= acked }, "rows stayed below the %d acknowledged records", acked)
	time.Sleep(2 * time.Second) // a record stored twice would show up now
	total := rows()
	distinct := pg.Int("SELECT count(DISTINCT message_id) FROM " + pg.Table("logs"))
	lost := countMissing(t, pg, load.acked)
	perGateway := make([]string, len(gateways))
	var consumed int64
	for i, g := range gateways {
		if g != killed {
			g.readAccepted()
		}
		consumed += g.accepted.Load()
		perGateway[i] = fmt.Sprintf("gateway-%d=%d", i+1, g.accepted.Load())
	}
	t.Logf("kafka tier: sent %d, acknowledged %d, not acknowledged %d, delivered %d rows (%d distinct), lost %d, "+
		"duplicated %d; rows when gateway-3 was killed: %d; records consumed per gateway (before the kill for gateway-3): %s",
		load.sent, acked, load.failed, total, distinct, lost, total-distinct, rowsAtKill, strings.Join(perGateway, " "))

	if lost != 0 {
		t.Errorf("%d acknowledged records are not in PostgreSQL", lost)
	}
	if total != distinct {
		t.Errorf("%d duplicate rows", total-distinct)
	}
	if load.failed != 0 {
		t.Errorf("the agent refused %d records", load.failed)
	}
	if rowsAtKill >= acked {
		t.Errorf("the consumer was killed after the load was stored (%d rows)", rowsAtKill)
	}
	for i, g := range gateways[:2] {
		if g.accepted.Load() <= beforeKill[i] {
			t.Errorf("gateway-%d consumed nothing after the kill", i+1)
		}
	}
	for i, g := range gateways {
		if beforeKill[i] == 0 {
			t.Errorf("gateway-%d consumed nothing before the kill: the group did not spread the partitions (%s)", i+1, g.ip)
		}
	}
}
