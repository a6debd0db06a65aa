package dev.airlock.gateway.host;

import dev.airlock.policy.address.HostAddresses;
import java.io.IOException;
import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The host's own addresses, kept current: read once at start (a failure there stops the gateway
 * from starting, because it could not protect them), then again on every {@link #refresh}, which
 * {@link HostFactsService} calls periodically. A failed re-read keeps the last snapshot, so an
 * address is never dropped because the kernel could not be asked; it is logged.
 */
final class HostAddressWatch {

    private final InterfaceAddresses reader;
    private final PrintStream log;
    private final AtomicReference<HostAddresses> current;

    public HostAddressWatch(InterfaceAddresses reader, PrintStream log) throws IOException {
        this.reader = reader;
        this.log = log;
        this.current = new AtomicReference<>(new HostAddresses(reader.read()));
    }

    /** The snapshot decisions read now. */
    public HostAddresses current() {
        return current.get();
    }

    /** Reads the interfaces again; returns whether the set changed. */
    public boolean refresh() {
        try {
            HostAddresses next = new HostAddresses(reader.read());
            return !next.equals(current.getAndSet(next));
        } catch (IOException | RuntimeException e) {
            log.println("airlock gateway: cannot re-read the host's addresses (keeping the last " + current.get().addresses().size()
                    + "): " + e.getMessage());
            return false;
        }
    }
}
