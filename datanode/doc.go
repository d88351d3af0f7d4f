// Package datanode manages the unmodified PostgreSQL servers that distgres
// uses as data nodes.
//
// It is responsible for:
//
//   - locating the PostgreSQL server binaries (FindBinaries) and their
//     major version;
//   - creating data directories with initdb and the settings distgres needs
//     (InitDB), and cloning an initialized template directory (CopyDataDir);
//   - checking that a data directory is intact and matches the binaries
//     (Binaries.Validate);
//   - starting and stopping one postgres process per data directory
//     (Server), including taking over a postgres left running after our own
//     process crashed (Running, Server.Adopt);
//   - picking TCP ports (FreePort, PortInUse);
//   - keeping lazily created connection pools to data nodes (Pools).
//
// PostgreSQL refuses to run as root. When the current process is root, every
// initdb and postgres process is started as the OS user "postgres", and the
// directories this package creates are owned by that user. Data directories
// must then live below directories that user can traverse (for example under
// /tmp or /var/lib, but not under /root).
//
// Servers listen on 127.0.0.1 only and use no Unix-domain sockets.
//
// The package holds no catalog state: callers say which directory, port,
// host and database they mean.
package datanode
