package dev.airlock.server;

import java.nio.file.Path;

/** A daemon in its own JVM, for the test that kills it with SIGKILL. */
public final class DaemonMain {

    private DaemonMain() {
    }

    public static void main(String[] args) throws Exception {
        DaemonServer.start(DaemonConfig.load(Path.of(args[0])), System.err);
        System.err.println("DAEMON-READY");
        Thread.sleep(Long.MAX_VALUE);
    }
}
