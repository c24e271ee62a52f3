// Command check verifies what `helm template` rendered from the chart, offline (kubeconform would need schemas from
// the internet): every manifest decodes strictly into its k8s.io/api type, the workloads carry the probes,
// resources, GOMEMLIMIT and security settings deploy/README.md promises, and every rendered collector
// configuration passes `otelcol-fapilog validate`, run with the container's own arguments.
//
// Usage: go run . -binary ../../_build/otelcol-fapilog -example ../examples/fapilog-files.yaml \
//
//	-same-operators ../gateway/agent.yaml,../kafka/agent.yaml rendered-agent.yaml rendered-gateway.yaml
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	binary := flag.String("binary", "", "the otelcol-fapilog binary that validates the rendered configurations")
	example := flag.String("example", "", "the shipped file_log example whose fapilog operators the agents must use")
	sameOperators := flag.String("same-operators", "", "comma-separated collector configs that must use the example's fapilog operators")
	flag.Parse()
	if *binary == "" || *example == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	c := &checker{binary: *binary}
	if err := c.loadExampleOperators(*example); err != nil {
		fail(err)
	}
	for _, path := range flag.Args() {
		c.checkRendered(path)
	}
	if *sameOperators != "" {
		for _, path := range strings.Split(*sameOperators, ",") {
			c.checkConfigFile(path)
		}
	}
	for _, line := range c.report {
		fmt.Println(line)
	}
	if len(c.problems) > 0 {
		for _, p := range c.problems {
			fmt.Fprintln(os.Stderr, "deploy-check:", p)
		}
		os.Exit(1)
	}
	fmt.Printf("deploy-check: %d manifests decoded strictly, %d collector configs validated, no problems\n", c.manifests, c.configs)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "deploy-check:", err)
	os.Exit(1)
}
