package identity.devservers;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.TreeSet;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.ConnectorPortRegister;
import org.neo4j.configuration.connectors.ConnectorType;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.internal.helpers.HostnamePort;
import org.neo4j.kernel.internal.GraphDatabaseAPI;
import org.neo4j.logging.log4j.Log4jLogProvider;

/**
 * A real Neo4j 5 community DBMS, embedded, with its Bolt connector on 127.0.0.1: for tests and
 * local development on machines without a Docker engine. Started by devservers/neo4j.py.
 *
 * <pre>
 *   NEO4J_PASSWORD=... java -cp app.jar:CLASSPATH identity.devservers.Neo4jLauncher \
 *       --home DIR [--port 7687]
 * </pre>
 *
 * <p>Options may also be given as system properties ({@code -Dneo4j.home}, {@code -Dneo4j.port}).
 * Port 0 binds a free port. The password comes only from the environment, so that it never shows
 * in {@code ps}. Authentication is always on: the user {@code neo4j} gets that password on every
 * start, so the default {@code neo4j/neo4j} is never usable afterwards. Settings in
 * {@code HOME/neo4j.conf}, if that file exists, override the defaults below.
 *
 * <p>Prints {@code NEO4J READY bolt://127.0.0.1:PORT} on stdout once Bolt accepts the password and
 * the database {@code neo4j} is available; shuts the DBMS down on SIGTERM or SIGINT. Exits 1 if
 * the DBMS cannot start (for example another instance holds the store lock or the port is busy),
 * 2 on bad usage.
 */
public final class Neo4jLauncher {
    public static final String READY = "NEO4J READY ";
    private static final String USER = "neo4j";

    private Neo4jLauncher() {}

    /** Defaults for a small, quick development server; HOME/neo4j.conf can override any. */
    private static Map<String, String> defaultSettings() {
        Map<String, String> settings = new TreeMap<>();
        settings.put("dbms.usage_report.enabled", "false");
        settings.put("server.memory.pagecache.size", "64m");
        settings.put("db.tx_log.rotation.retention_policy", "1 files");
        // Each of these otherwise adds about 5 s to every stop.
        settings.put("internal.server.bolt.thread_pool_shutdown_wait_time", "0s");
        settings.put("internal.server.bolt.connection_shutdown_wait_time", "0s");
        return settings;
    }

    public static void main(String[] args) {
        Path home = null;
        int port = -1;
        String homeProperty = System.getProperty("neo4j.home");
        if (homeProperty != null) {
            home = Path.of(homeProperty);
        }
        try {
            port = Integer.parseInt(System.getProperty("neo4j.port", "7687"));
            for (int i = 0; i < args.length; i++) {
                String arg = args[i];
                if (arg.equals("--home") && i + 1 < args.length) {
                    home = Path.of(args[++i]);
                } else if (arg.equals("--port") && i + 1 < args.length) {
                    port = Integer.parseInt(args[++i]);
                } else {
                    throw new IllegalArgumentException("unknown argument: " + arg);
                }
            }
            if (home == null) {
                throw new IllegalArgumentException("--home DIR is required");
            }
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("--port must be 0..65535");
            }
        } catch (IllegalArgumentException e) {
            System.err.println("neo4j devserver: " + e.getMessage());
            System.err.println("usage: NEO4J_PASSWORD=... Neo4jLauncher --home DIR [--port 7687]");
            System.exit(2);
            return;
        }
        String password = System.getenv("NEO4J_PASSWORD");
        if (password == null || password.isEmpty()) {
            System.err.println("neo4j devserver: set NEO4J_PASSWORD (authentication is always on)");
            System.exit(2);
            return;
        }
        try {
            run(home.toAbsolutePath(), port, password);
        } catch (Throwable e) {
            e.printStackTrace();
            // Last, so that the tail of the log says why: the innermost cause is the useful one.
            Throwable cause = e;
            while (cause.getCause() != null && cause.getCause() != cause) {
                cause = cause.getCause();
            }
            System.err.println("neo4j devserver: failed to start: " + e.getMessage()
                    + (cause == e ? "" : " (cause: " + cause + ")"));
            System.err.flush();
            System.exit(1);
        }
    }

    private static void run(Path home, int port, String password) throws Exception {
        Files.createDirectories(home);
        Path settingsFile = writeSettings(home);
        DatabaseManagementService dbms;
        try {
            dbms = new DatabaseManagementServiceBuilder(home)
                    .loadPropertiesFromFile(settingsFile)
                    .setUserLogProvider(new Log4jLogProvider(System.out))
                    .setConfig(GraphDatabaseSettings.auth_enabled, true)
                    .setConfig(BoltConnector.enabled, true)
                    .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                    .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                    .build();
        } finally {
            Files.deleteIfExists(settingsFile);
        }
        Thread hook = new Thread(() -> {
            long start = System.nanoTime();
            dbms.shutdown();
            System.out.printf("NEO4J STOPPED in %.2f s%n", (System.nanoTime() - start) / 1e9);
            System.out.flush();
        }, "neo4j-devserver-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            setPassword(dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME), password);
            GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
            db.executeTransactionally("RETURN 1");
            int boltPort = boundBoltPort(db, port);
            System.out.println(READY + "bolt://127.0.0.1:" + boltPort);
            System.out.flush();
        } catch (Throwable e) {
            Runtime.getRuntime().removeShutdownHook(hook);
            dbms.shutdown();
            throw e;
        }
        // Serve until SIGTERM/SIGINT: the JVM then runs the shutdown hook and exits.
        Thread.currentThread().join();
    }

    /** Writes the default settings, overridden by HOME/neo4j.conf, to a temporary file. */
    private static Path writeSettings(Path home) throws IOException {
        Properties settings = new Properties();
        settings.putAll(defaultSettings());
        Path overrides = home.resolve("neo4j.conf");
        if (Files.isRegularFile(overrides)) {
            try (Reader reader = Files.newBufferedReader(overrides, StandardCharsets.UTF_8)) {
                settings.load(reader);
            }
        }
        Path file = Files.createTempFile("neo4j-devserver-", ".conf");
        try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (String key : new TreeSet<>(settings.stringPropertyNames())) {
                writer.write(key + "=" + settings.getProperty(key) + "\n");
            }
        }
        return file;
    }

    /**
     * Sets the password of the built-in user {@code neo4j} on the system database. Embedded
     * transactions run with full rights, so this works even though Bolt requires authentication.
     */
    private static void setPassword(GraphDatabaseService system, String password) {
        // ALTER USER refuses a password equal to the current one ("Old password and new password
        // cannot be the same"), as on every restart: go through a random one first.
        byte[] random = new byte[24];
        new SecureRandom().nextBytes(random);
        String interim = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        String alter = "ALTER USER " + USER + " SET PASSWORD $password CHANGE NOT REQUIRED";
        system.executeTransactionally(alter, Map.of("password", interim));
        system.executeTransactionally(alter, Map.of("password", password));
    }

    private static int boundBoltPort(GraphDatabaseService db, int requested) {
        if (db instanceof GraphDatabaseAPI api) {
            HostnamePort address = api.getDependencyResolver()
                    .resolveDependency(ConnectorPortRegister.class)
                    .getLocalAddress(ConnectorType.BOLT);
            if (address != null) {
                return address.getPort();
            }
        }
        if (requested == 0) {
            throw new IllegalStateException("cannot tell which port Bolt bound");
        }
        return requested;
    }
}
