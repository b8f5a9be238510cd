// One Go program through tether with go-sql-driver/mysql (Debian's golang-github-go-sql-driver-mysql-dev,
// 1.5.0: no compression yet). Usage: session PORT
// Prints one JSON line per step ({"step": ..., "value": ...}); after "in_transaction" it waits for a
// line on stdin; after "holding" it holds its pool's connections until it is killed.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"

	_ "github.com/go-sql-driver/mysql"
)

var stdin = bufio.NewReader(os.Stdin)

func step(name string, value interface{}) {
	line, _ := json.Marshal(map[string]interface{}{"step": name, "value": value})
	fmt.Println(string(line))
}

func must(err error) {
	if err != nil {
		step("error", err.Error())
		os.Exit(1)
	}
}

func main() {
	db, err := sql.Open("mysql", fmt.Sprintf("app:apppw@tcp(127.0.0.1:%s)/tether_test", os.Args[1]))
	must(err)
	ctx := context.Background()

	var id int64
	must(db.QueryRow("SELECT CONNECTION_ID()").Scan(&id))
	step("hello", map[string]interface{}{"id": id})

	rows, err := db.Query("SELECT name, qty FROM fruits ORDER BY id")
	must(err)
	var fruits [][]interface{}
	for rows.Next() {
		var name string
		var qty int
		must(rows.Scan(&name, &qty))
		fruits = append(fruits, []interface{}{name, qty})
	}
	must(rows.Err())
	step("query", fruits)

	// A server-side prepared statement (the driver does not interpolate by default): binary protocol.
	stmt, err := db.Prepare("SELECT name, qty FROM fruits WHERE id = ?")
	must(err)
	var prepared [][]interface{}
	for _, fruit := range []int{1, 3, 2} {
		var name string
		var qty int
		must(stmt.QueryRow(fruit).Scan(&name, &qty))
		prepared = append(prepared, []interface{}{name, qty})
	}
	must(stmt.Close())
	step("prepared", prepared)

	tx, err := db.Begin()
	must(err)
	_, err = tx.Exec("INSERT INTO items (name, qty) VALUES (?, ?)", "go", 1)
	must(err)
	var txID int64
	must(tx.QueryRow("SELECT CONNECTION_ID()").Scan(&txID))
	step("in_transaction", map[string]interface{}{"id": txID})
	stdin.ReadString('\n')
	must(tx.Commit())
	var count int
	must(db.QueryRow("SELECT COUNT(*) FROM items WHERE name = 'go'").Scan(&count))
	_, err = db.Exec("DELETE FROM items WHERE name = 'go'")
	must(err)
	step("committed", count)

	// A bounded pool under 40 concurrent queries.
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cid int64
			var slept int
			must(db.QueryRow("SELECT CONNECTION_ID(), SLEEP(0.02)").Scan(&cid, &slept))
			mu.Lock()
			seen[cid] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	step("pool", map[string]interface{}{"distinct": len(seen), "open": db.Stats().OpenConnections})

	// Hold every connection of the pool, idle, until killed.
	var held []int64
	var conns []*sql.Conn
	for i := 0; i < 4; i++ {
		conn, err := db.Conn(ctx)
		must(err)
		var cid int64
		must(conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&cid))
		conns = append(conns, conn)
		held = append(held, cid)
	}
	sort.Slice(held, func(a, b int) bool { return held[a] < held[b] })
	step("holding", held)
	stdin.ReadString('\n')
	for _, c := range conns {
		c.Close()
	}
	db.Close()
}
