package dev.airlock.server;

/** A request the daemon cannot serve, with a message that says how to fix it. */
public class DaemonException extends Exception {
    public DaemonException(String message) {
        super(message);
    }
}
