package gtm

import (
	"fmt"
	"os"
	"strings"
)

// FailpointEnv names the environment variable that makes a coordinator
// process exit at a step of its global transactions, for crash tests. It
// holds comma-separated steps ("begun", "prepared", "decided",
// "committed"; shard moves add "move-copying", "move-frozen" and
// "move-switched"), each optionally armed by a file: "prepared" exits at the
// first transaction that reaches that step; "prepared@/tmp/arm" exits
// there only while /tmp/arm exists (and removes it), so a test chooses the
// moment.
const FailpointEnv = "DISTGRES_FAILPOINT"

// ExitFailpoint returns a Failpoint hook that ends the process with exit
// status 3 as $DISTGRES_FAILPOINT says, or nil when the variable is unset.
func ExitFailpoint() func(string) error {
	v := os.Getenv(FailpointEnv)
	if v == "" {
		return nil
	}
	steps := map[string]string{} // step -> arming file ("" always)
	for _, s := range strings.Split(v, ",") {
		step, file, _ := strings.Cut(strings.TrimSpace(s), "@")
		steps[step] = file
	}
	return func(step string) error {
		file, ok := steps[step]
		if !ok {
			return nil
		}
		if file != "" {
			if err := os.Remove(file); err != nil {
				return nil // not armed
			}
		}
		fmt.Fprintf(os.Stderr, "distgres: failpoint %s: exiting\n", step)
		os.Exit(3)
		return nil
	}
}
