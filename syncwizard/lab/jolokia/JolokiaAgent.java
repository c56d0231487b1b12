/*
 * Jolokia for the practice lab's ActiveMQ broker, as a -javaagent.
 *
 * Debian's activemq package has no web console, so this agent serves the
 * Jolokia core (Debian's libjolokia-core-java) at /api/jolokia like the real
 * console does: basic auth (realm "activemq"), the policy file
 * <activemq.conf>/jolokia-access.xml with CORS strict checking (a request
 * without Origin or Referer is refused with HTTP 200 and JSON status 403),
 * GET and POST (unless the policy's <http> section allows POST only, which
 * Jolokia's restrictor then enforces). Bound to 127.0.0.1 only.
 *
 * Agent argument: the port, then optional comma-separated options, as the lab's
 * `current` flavour uses them to model ActiveMQ 5.19.7+/6.2.6+'s jetty.xml:
 *   role=NAME        only users holding role NAME may use the API (Jetty's
 *                    security constraint): any other user gets HTTP 403 "!role".
 *                    Roles: <activemq.conf>/jolokia-roles.properties (user=role,role).
 *   any-address      listen on every address, like the broker's container does,
 *                    and refuse clients that are not on loopback with HTTP 403
 *                    before authentication (Jetty's InetAccessHandler).
 *   no-error-details  answer errors without stack traces, as ActiveMQ's
 *                    webapps/api/WEB-INF/web.xml sets allowErrorDetails=false.
 * Users: <activemq.conf>/jolokia-users.properties (user=password lines, mode 0600).
 */

import com.sun.net.httpserver.BasicAuthenticator;
import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.instrument.Instrumentation;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.Executors;

import org.jolokia.backend.BackendManager;
import org.jolokia.config.ConfigKey;
import org.jolokia.config.Configuration;
import org.jolokia.http.HttpRequestHandler;
import org.jolokia.restrictor.PolicyRestrictor;
import org.jolokia.util.LogHandler;
import org.json.simple.JSONAware;

public final class JolokiaAgent {
    private static final String CONTEXT = "/api/jolokia";

    private JolokiaAgent() {
    }

    public static void premain(String agentArgs, Instrumentation instrumentation) throws IOException {
        String[] args = (agentArgs == null ? "8161" : agentArgs.trim()).split(",");
        int port = Integer.parseInt(args[0].trim());
        String requiredRole = null;
        boolean anyAddress = false;
        boolean errorDetails = true;
        for (String option : Arrays.copyOfRange(args, 1, args.length)) {
            option = option.trim();
            if (option.startsWith("role=")) {
                requiredRole = option.substring("role=".length());
            } else if (option.equals("any-address")) {
                anyAddress = true;
            } else if (option.equals("no-error-details")) {
                errorDetails = false;
            } else {
                throw new IllegalArgumentException("unknown Jolokia agent option " + option);
            }
        }
        Path conf = Paths.get(System.getProperty("activemq.conf", "."));
        Properties users = new Properties();
        try (InputStream in = Files.newInputStream(conf.resolve("jolokia-users.properties"))) {
            users.load(in);
        }
        Properties roles = new Properties();
        if (requiredRole != null) {
            try (InputStream in = Files.newInputStream(conf.resolve("jolokia-roles.properties"))) {
                roles.load(in);
            }
        }
        final String role = requiredRole;
        PolicyRestrictor restrictor;
        try (InputStream in = Files.newInputStream(conf.resolve("jolokia-access.xml"))) {
            restrictor = new PolicyRestrictor(in);
        }
        LogHandler log = new LogHandler.StdoutLogHandler(false);
        Configuration config = new Configuration(
                ConfigKey.AGENT_ID, "syncwizard-lab-broker",
                ConfigKey.AGENT_CONTEXT, CONTEXT,
                ConfigKey.ALLOW_ERROR_DETAILS, Boolean.toString(errorDetails));
        // Lazy: the broker registers its MBeans after premain returns.
        BackendManager backend = new BackendManager(config, log, restrictor, true);
        HttpRequestHandler handler = new HttpRequestHandler(config, backend, log);

        InetSocketAddress address = anyAddress
                ? new InetSocketAddress(port)
                : new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        HttpServer server = HttpServer.create(address, 50);
        HttpContext context = server.createContext(CONTEXT, exchange -> {
            if (role != null && !hasRole(roles, exchange.getPrincipal().getUsername(), role)) {
                refuse(exchange, "!role"); // Jetty's answer to an authenticated user without the role
                return;
            }
            serve(handler, exchange);
        });
        // User filters run before the authenticator: a remote client is refused unauthenticated.
        context.getFilters().add(new Filter() {
            @Override
            public void doFilter(HttpExchange exchange, Chain chain) throws IOException {
                if (!exchange.getRemoteAddress().getAddress().isLoopbackAddress()) {
                    refuse(exchange, "Forbidden"); // Jetty's InetAccessHandler
                    return;
                }
                chain.doFilter(exchange);
            }

            @Override
            public String description() {
                return "loopback clients only";
            }
        });
        context.setAuthenticator(new BasicAuthenticator("activemq") {
            @Override
            public boolean checkCredentials(String user, String password) {
                String expected = users.getProperty(user);
                return expected != null && expected.equals(password);
            }
        });
        server.setExecutor(Executors.newFixedThreadPool(2, runnable -> {
            Thread thread = new Thread(runnable, "jolokia-http");
            thread.setDaemon(true);
            return thread;
        }));
        server.start();
        System.out.println("Jolokia agent listening on " + (anyAddress ? "every address" : "127.0.0.1")
                + ", port " + port + CONTEXT + " (loopback clients only"
                + (role == null ? "" : ", role " + role) + ")");
    }

    private static boolean hasRole(Properties roles, String user, String role) {
        Set<String> held = new HashSet<>();
        for (String name : roles.getProperty(user, "").split(",")) {
            held.add(name.trim());
        }
        return held.contains(role);
    }

    /** HTTP 403 with the HTML error page Jetty sends, its reason in the title. */
    private static void refuse(HttpExchange exchange, String reason) throws IOException {
        byte[] body = ("<html>\n<head>\n<title>Error 403 " + reason + "</title>\n</head>\n"
                + "<body><h2>HTTP ERROR 403 " + reason + "</h2>\n</body>\n</html>\n")
                .getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/html;charset=iso-8859-1");
        exchange.sendResponseHeaders(403, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @SuppressWarnings("deprecation") // json-simple 2 deprecates JSONAware, which Jolokia 1.7 returns
    private static void serve(HttpRequestHandler handler, HttpExchange exchange) throws IOException {
        JSONAware answer;
        try {
            String origin = exchange.getRequestHeaders().getFirst("Origin");
            if (origin == null) {
                origin = exchange.getRequestHeaders().getFirst("Referer");
            }
            if (origin != null) {
                origin = origin.replaceAll("[\\n\\r]*", "");
            }
            InetSocketAddress remote = exchange.getRemoteAddress();
            handler.checkAccess(remote.getHostString(), remote.getAddress().getHostAddress(), origin);
            String path = exchange.getRequestURI().getRawPath();
            String uri = exchange.getRequestURI().toString();
            Map<String, String[]> params = parseQuery(exchange.getRequestURI().getRawQuery());
            String method = exchange.getRequestMethod();
            if ("GET".equals(method)) {
                String pathInfo = path.length() > CONTEXT.length() ? path.substring(CONTEXT.length()) : "";
                answer = handler.handleGetRequest(uri, pathInfo, params);
            } else if ("POST".equals(method)) {
                try (InputStream body = exchange.getRequestBody()) {
                    answer = handler.handlePostRequest(uri, body, "UTF-8", params);
                }
            } else {
                answer = handler.handleThrowable(
                        new IllegalArgumentException("HTTP method " + method + " is not supported"));
            }
        } catch (Throwable failure) {
            answer = handler.handleThrowable(failure);
        }
        byte[] body = answer.toJSONString().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private static Map<String, String[]> parseQuery(String rawQuery) {
        Map<String, String[]> params = new HashMap<>();
        if (rawQuery == null || rawQuery.isEmpty()) {
            return params;
        }
        for (String pair : rawQuery.split("&")) {
            int equals = pair.indexOf('=');
            String key = decode(equals < 0 ? pair : pair.substring(0, equals));
            String value = equals < 0 ? "" : decode(pair.substring(equals + 1));
            String[] previous = params.get(key);
            if (previous == null) {
                params.put(key, new String[] {value});
            } else {
                String[] values = java.util.Arrays.copyOf(previous, previous.length + 1);
                values[previous.length] = value;
                params.put(key, values);
            }
        }
        return params;
    }

    private static String decode(String text) {
        return URLDecoder.decode(text, StandardCharsets.UTF_8);
    }
}
