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
	killed, beforeKill := killGateway(t, gateways, 2)
	rowsAtKill := rows()
	<-done

	d := waitForDelivery(t, pg, load)
	consumed := readAllAccepted(t, gateways, killed)
	perGateway := make([]string, len(gateways))
	for i := range gateways {
		perGateway[i] = fmt.Sprintf("gateway-%d=%d", i+1, consumed[i])
	}
	t.Logf("kafka tier: %s; rows when gateway-3 was killed: %d; records consumed per gateway (before the kill for gateway-3): %s",
		d, rowsAtKill, strings.Join(perGateway, " "))
	d.check(t)
	if rowsAtKill >= d.acked {
		t.Errorf("the consumer was killed after the load was stored (%d rows)", rowsAtKill)
	}
	for i := range 2 {
		if consumed[i] <= beforeKill[i] {
			t.Errorf("gateway-%d consumed nothing after the kill", i+1)
		}
	}
	for i := range gateways {
		if beforeKill[i] == 0 {
			t.Errorf("gateway-%d consumed nothing before the kill: the group did not spread the partitions", i+1)
		}
	}
}

// TestE2E_KafkaTierDeliversBatchesOfLargeRecords sends what an application's OTLP SDK sends (512-record requests)
// with records of 1 KB through the shipped Kafka tier: the agent's sending_queue merges requests into batches,
// and every batch must fit in one Kafka message (producer.max_message_bytes, 1,000,000 by default), which Kafka
// refuses for good otherwise. Every acknowledged record must reach PostgreSQL.
func TestE2E_KafkaTierDeliversBatchesOfLargeRecords(t *testing.T) {
	const topic = "fapilog-logs"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	broker := cluster.ListenAddrs()[0]
	pg := NewPostgresSchema(t, "fapilog_kafka_large_")
	startGateway(t, "deploy/kafka/gateway.yaml", "127.0.0.1", "FAPILOG_KAFKA_BROKER="+broker)
	agent := StartWithEnv(t, ShippedConfig(t, "deploy/kafka/agent.yaml"), nil, []string{
		"FAPILOG_KAFKA_BROKER=" + broker,
		"FAPILOG_QUEUE_DIRECTORY=" + filepath.Join(t.TempDir(), "queue"),
		"FAPILOG_FILELOG_INCLUDE=" + filepath.Join(t.TempDir(), "*.jsonl"),
	})
	load := newLoadSender(t, agent.GRPCEndpoint)
	load.pad = " " + strings.Repeat("x", 1000)
	for range 8 {
		load.send(512)
	}
	requireAcknowledgedStored(t, pg, load, agent, "kafka tier, 1 KB records")
}
