package gtm

import (
	"fmt"
	"os"
	"strings"
)

// FailpointEnv names the environment variable that makes a coordinator
// process exit at a step of its global transactions, for crash tests:
// DISTGRES_FAILPOINT=prepared exits right after every participant has
// prepared and before the decision is logged.
const FailpointEnv = "DISTGRES_FAILPOINT"

// ExitFailpoint returns a Failpoint hook that ends the process with exit
// status 3 at the steps listed (comma-separated) in $DISTGRES_FAILPOINT,
// or nil when the variable is unset.
func ExitFailpoint() func(string) error {
	v := os.Getenv(FailpointEnv)
	if v == "" {
		return nil
	}
	steps := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		steps[strings.TrimSpace(s)] = true
	}
	return func(step string) error {
		if steps[step] {
			fmt.Fprintf(os.Stderr, "distgres: failpoint %s: exiting\n", step)
			os.Exit(3)
		}
		return nil
	}
}
