// Package gtm will hold the global transaction manager: global transaction
// ids, the commit-decision log kept in the catalog's Raft group, the
// two-phase commit driver, recovery of in-doubt prepared transactions,
// global sequences and distributed deadlock detection.
//
// Until then a transaction block that writes on several data nodes commits
// them one after another (see coordinator/txn.go), which is not atomic.
package gtm
