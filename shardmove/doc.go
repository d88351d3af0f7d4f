// Package shardmove moves shard groups between data nodes while the
// cluster serves reads and writes, and builds node membership on top of
// that: adding a node (schema, reference-table copies), draining it, and
// rebalancing.
//
// A move copies the group's tables to the target with PostgreSQL logical
// replication (a publication on the source, a subscription on the target),
// waits until the target has caught up, then cuts over: the catalog marks
// the group frozen, so coordinators hold back new writes to it; the source
// tables are locked against writers (readers go on); once the target has
// applied everything up to the source's current WAL position, the
// placement switches through Raft and the source copies are dropped.
//
// Every move is recorded in the catalog before anything is created on the
// nodes, and the publication, subscription and replication slot are named
// after the record, so that a move whose coordinator died or whose client
// gave up is found and cleaned up by the Raft leader (Recover): the source
// stays authoritative until the switch, and after the switch only the
// source's leftovers are dropped.
package shardmove
