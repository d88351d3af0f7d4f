package sqllogictest

import "regexp"

// knownCauses explain disagreement symptoms: why distgres differs and
// what must change. The first matching pattern wins.
var knownCauses = []struct {
	pattern     *regexp.Regexp
	explanation string
}{
	{regexp.MustCompile(`reference distributed tables more than once`),
		"joins (and self-joins) of distributed tables are rejected with 0A000; they need the distributed planner's recursive planning and repartitioning (issue 6)."},
	{regexp.MustCompile(`subquery, CTE or set operation`),
		"a distributed table inside a subquery, CTE or UNION without its distribution key fixed needs recursive planning (issue 6)."},
	{regexp.MustCompile(`select-list entries over many shards must be aggregates`),
		"expressions over aggregates (e.g. `- MAX(x)`, `COUNT(*) + 1`) are not combined by the coordinator yet; the combine step needs an expression evaluator or a final query on a node (issue 6)."},
	{regexp.MustCompile(`HAVING over many shards`),
		"HAVING is evaluated only when grouping by the distribution column; merged HAVING needs the coordinator to filter combined groups (issue 6)."},
	{regexp.MustCompile(`DISTINCT`),
		"SELECT DISTINCT over many shards needs a coordinator-side distinct over merged rows (issue 6)."},
	{regexp.MustCompile(`aggregate .* over many shards|\(DISTINCT or ORDER BY`),
		"this aggregate has no two-phase split yet (issue 6 lists them)."},
	{regexp.MustCompile(`ORDER BY .*over many shards|ORDER BY expressions that are not in the select list`),
		"this ORDER BY cannot be merged on the coordinator yet (issue 6)."},
	{regexp.MustCompile(`writing through a view`),
		"a write through a view PostgreSQL would accept but distgres refuses (WITH CHECK OPTION, security_barrier, triggers or rules on the view)."},
	{regexp.MustCompile(`INSERT \.\.\. SELECT`),
		"INSERT ... SELECT into distributed tables is not supported yet (issue 6)."},
	{regexp.MustCompile(`unique (constraint|index).*(does not include the distribution column|reference table)`),
		"a unique constraint without the distribution column on a table that cannot become a reference table (it already holds rows, or DISTRIBUTE BY was explicit): shards enforce uniqueness only on their own rows."},
	{regexp.MustCompile(`distribution column .* with RETURNING`),
		"UPDATE of the distribution column moves rows between shards, but not yet with RETURNING."},
	{regexp.MustCompile(`distribution column`),
		"a statement that changes or omits the distribution column; the corpus updates every column freely. Needs moving rows between shards (UPDATE of the key) or global sequences (issue 5)."},
	{regexp.MustCompile(`mix distributed tables with catalog or local tables`),
		"queries mixing distributed and local tables are refused."},
	{regexp.MustCompile(`relation "…" does not exist|view "…" does not exist`),
		"the object was never created on distgres because an earlier statement of the file was refused (usually CREATE VIEW); fixing that statement fixes this one."},
	{regexp.MustCompile(`different result`),
		"distgres returned other rows than PostgreSQL. Where an earlier statement of the same file was refused the rows may differ as a consequence; any other case is a bug to fix."},
}

// Explain returns the known cause of a disagreement symptom.
func Explain(symptom string) string {
	for _, c := range knownCauses {
		if c.pattern.MatchString(symptom) {
			return c.explanation
		}
	}
	return "not analysed yet."
}
