// One MariaDB Connector/J session through tether over TLS, verifying tether's
// certificate and host name against the test CA (serverSslCert), Connector/J
// 2.x's verify-full. Prints one "key=value" line per step.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

public class TlsSession {
    public static void main(String[] args) throws Exception {
        String url = args[0];  // jdbc:mariadb://127.0.0.1:PORT/tether_test?useSsl=true&serverSslCert=...
        try (Connection c = DriverManager.getConnection(url, args[1], args[2])) {
            try (PreparedStatement p = c.prepareStatement("SELECT ? + 1")) {
                p.setInt(1, 41);
                try (ResultSet r = p.executeQuery()) {
                    r.next();
                    System.out.println("execute=" + r.getInt(1));
                }
            }
            try (ResultSet r = c.createStatement().executeQuery("SHOW SESSION STATUS LIKE 'Ssl_cipher'")) {
                r.next();
                System.out.println("server_ssl_cipher=" + r.getString(2));
            }
            try (ResultSet r = c.createStatement().executeQuery("SELECT REPEAT('y', 3000000)")) {
                r.next();
                System.out.println("large=" + r.getString(1).length());
            }
        }
        System.out.println("done=true");
    }
}
