import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * Starts DynamoDB Local bound to 127.0.0.1. Its command line has no host option, and its Jetty server binds every
 * interface, which would hand the tables (password hashes included) to anyone on the network. This sets the host of
 * each connector before the server starts; if the jar's inside ever differs from what this expects, it exits
 * rather than start listening on every interface. Telemetry is left unconfigured, so none is sent.
 */
public final class LoopbackDynamoDbLocal {
  private static final String HOST = "127.0.0.1";

  public static void main(String[] args) throws Exception {
    // Never outlive the process that started us, however it ended (SIGKILL, a crash): an orphan would hold the
    // port and the database files.
    ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> System.exit(0)));
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) fail("DynamoDB Local has no connector to bind");
    for (Connector connector : connectors) {
      if (!(connector instanceof ServerConnector)) fail("Unexpected DynamoDB Local connector: " + connector);
      ((ServerConnector) connector).setHost(HOST);
    }
    proxy.start();
    for (Connector connector : connectors) {
      if (!HOST.equals(((ServerConnector) connector).getHost())) {
        proxy.stop();
        fail("DynamoDB Local did not bind to " + HOST);
      }
    }
  }

  private static void fail(String message) {
    System.err.println(message);
    System.exit(2);
  }
}
