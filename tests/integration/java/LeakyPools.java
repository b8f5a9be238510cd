// The second incident, as a program: every "request" builds a NEW HikariCP pool (the app's
// getDataSources() had no cache) and never closes it, so each request leaves its pool's idle
// connections behind until the database runs out of connections.
//
// Usage: java -cp HikariCP.jar:mariadb-java-client.jar:slf4j-api.jar:slf4j-nop.jar:DIR LeakyPools \
//            JDBC_URL USER PASSWORD [INTERVAL_MS=150] [POOL_SIZE=3] [MAX_POOLS=400] [QUERY]
// QUERY (default SELECT CONNECTION_ID()) is what each request runs; its first column is the id.
// Prints one line per event on stdout (flushed):
//   START <epoch_ms>
//   OK <request#> <epoch_ms> <connection_id>
//   FAIL <request#> <epoch_ms> <errno> <sqlstate> <message of the innermost SQLException>
// It never stops by itself (after MAX_POOLS it keeps the leaked pools and just sleeps): the test
// SIGKILLs it, as an operator or the OOM killer would.
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

public class LeakyPools {
    static String query;

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: LeakyPools JDBC_URL USER PASSWORD [INTERVAL_MS] [POOL_SIZE] [MAX_POOLS] [QUERY]");
            System.exit(2);
        }
        String url = args[0], user = args[1], password = args[2];
        long intervalMs = args.length > 3 ? Long.parseLong(args[3]) : 150;
        int poolSize = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        int maxPools = args.length > 5 ? Integer.parseInt(args[5]) : 400;
        query = args.length > 6 ? args[6] : "SELECT CONNECTION_ID()";

        List<HikariDataSource> leaked = new ArrayList<>();  // referenced, never closed
        System.out.println("START " + System.currentTimeMillis());
        System.out.flush();
        for (int request = 1; ; request++) {
            if (request <= maxPools) {
                try {
                    HikariDataSource ds = newPool(url, user, password, poolSize, request);
                    leaked.add(ds);
                    handleRequest(ds, request);
                } catch (Throwable t) {  // the program keeps serving whatever happens
                    report(request, t);
                }
            }
            Thread.sleep(intervalMs);
        }
    }

    // What DataSourceBuilder.create()...build() did in the incident, once per request.
    static HikariDataSource newPool(String url, String user, String password, int size, int n) {
        HikariConfig c = new HikariConfig();
        c.setPoolName("report-pool-" + n);
        c.setJdbcUrl(url);
        c.setUsername(user);
        c.setPassword(password);
        c.setMinimumIdle(size);
        c.setMaximumPoolSize(size);
        c.setConnectionTimeout(1000);           // a request waits at most 1 s for a connection
        c.setValidationTimeout(500);
        c.setInitializationFailTimeout(-1);     // a refused pool still starts (and keeps retrying)
        return new HikariDataSource(c);
    }

    static void handleRequest(HikariDataSource ds, int request) {
        try (Connection conn = ds.getConnection();
             Statement st = conn.createStatement();
             ResultSet rs = st.executeQuery(query)) {
            rs.next();
            System.out.println("OK " + request + " " + System.currentTimeMillis() + " " + rs.getLong(1));
            System.out.flush();
        } catch (Throwable t) {
            report(request, t);
        }
    }

    static void report(int request, Throwable t) {
        // Hikari wraps the driver's error: report the innermost SQLException (errno, SQLSTATE, text).
        SQLException inner = null;
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLException) inner = (SQLException) c;
            if (c.getCause() == c) break;
        }
        int errno = inner != null ? inner.getErrorCode() : 0;
        String state = inner != null && inner.getSQLState() != null ? inner.getSQLState() : "-";
        String msg = String.valueOf(inner != null ? inner.getMessage() : t.toString()).replace('\n', ' ');
        System.out.println("FAIL " + request + " " + System.currentTimeMillis() + " " + errno + " " + state + " " + msg);
        System.out.flush();
    }
}
