package sqllogictest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Database is where records run: one connection, simple query protocol,
// text results, autocommit.
type Database struct {
	conn *pgconn.PgConn
}

// Open connects to a database URL.
func Open(ctx context.Context, url string) (*Database, error) {
	conn, err := pgconn.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("sqllogictest: connect: %w", err)
	}
	return &Database{conn: conn}, nil
}

// Close closes the connection.
func (d *Database) Close(ctx context.Context) error { return d.conn.Close(ctx) }

// Exec runs a statement.
func (d *Database) Exec(ctx context.Context, sql string) error {
	_, err := d.conn.Exec(ctx, sql).ReadAll()
	return err
}

// Query runs a query and returns its rows in text form (nil for NULL).
func (d *Database) Query(ctx context.Context, sql string) ([][]*string, error) {
	results, err := d.conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return nil, nil
	}
	last := results[len(results)-1]
	rows := make([][]*string, len(last.Rows))
	for i, r := range last.Rows {
		row := make([]*string, len(r))
		for j, v := range r {
			if v != nil {
				s := string(v)
				row[j] = &s
			}
		}
		rows[i] = row
	}
	return rows, nil
}

// Server creates a fresh database per file on a PostgreSQL server (C
// collation, from template0), or, when it cannot (a distgres cluster serves
// one database), empties the one it has.
type Server struct {
	// URL of the server's maintenance database.
	URL string
	// Setup runs at the start of every file's session (e.g. the placement
	// mode of a distgres cluster).
	Setup []string
	// Reset empties the database instead of creating one per file.
	Reset bool
	n     int
}

// Fresh returns a connection to an empty database and a function that
// disposes of it.
func (s *Server) Fresh(ctx context.Context) (*Database, func(), error) {
	if s.Reset {
		db, err := Open(ctx, s.URL)
		if err != nil {
			return nil, nil, err
		}
		if err := emptyDatabase(ctx, db); err != nil {
			db.Close(ctx)
			return nil, nil, err
		}
		return s.setup(ctx, db, func() { db.Close(context.Background()) })
	}
	admin, err := Open(ctx, s.URL)
	if err != nil {
		return nil, nil, err
	}
	s.n++
	name := fmt.Sprintf("slt_%d_%d", time.Now().UnixNano()%1e9, s.n)
	if err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"); err != nil {
		admin.Close(ctx)
		return nil, nil, fmt.Errorf("sqllogictest: create database: %w", err)
	}
	cfg, err := pgconn.ParseConfig(s.URL)
	if err != nil {
		admin.Close(ctx)
		return nil, nil, err
	}
	cfg.Database = name
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		admin.Close(ctx)
		return nil, nil, fmt.Errorf("sqllogictest: connect: %w", err)
	}
	db := &Database{conn: conn}
	return s.setup(ctx, db, func() {
		ctx := context.Background()
		db.Close(ctx)
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
		admin.Close(ctx)
	})
}

func (s *Server) setup(ctx context.Context, db *Database, done func()) (*Database, func(), error) {
	for _, q := range s.Setup {
		if err := db.Exec(ctx, q); err != nil {
			done()
			return nil, nil, fmt.Errorf("sqllogictest: %s: %w", q, err)
		}
	}
	return db, done, nil
}

// emptyDatabase drops the views and tables of the public schema.
func emptyDatabase(ctx context.Context, db *Database) error {
	rows, err := db.Query(ctx, "SELECT table_type, quote_ident(table_name) FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_type DESC")
	if err != nil {
		return fmt.Errorf("sqllogictest: list tables: %w", err)
	}
	var views, tables []string
	for _, r := range rows {
		if *r[0] == "VIEW" {
			views = append(views, *r[1])
		} else {
			tables = append(tables, *r[1])
		}
	}
	if len(views) > 0 {
		if err := db.Exec(ctx, "DROP VIEW IF EXISTS "+strings.Join(views, ", ")+" CASCADE"); err != nil {
			return fmt.Errorf("sqllogictest: drop views: %w", err)
		}
	}
	for _, t := range tables {
		if err := db.Exec(ctx, "DROP TABLE IF EXISTS "+t+" CASCADE"); err != nil {
			return fmt.Errorf("sqllogictest: drop table %s: %w", t, err)
		}
	}
	return nil
}
