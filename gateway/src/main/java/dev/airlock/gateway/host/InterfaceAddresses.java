package dev.airlock.gateway.host;

import dev.airlock.policy.address.IpAddress;
import java.io.IOException;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.Set;

/**
 * Reads every address assigned to the host's interfaces, v4 and v6, up or down. Injected, so
 * tests use a fake; {@link #SYSTEM} asks the kernel through {@link NetworkInterface}.
 */
@FunctionalInterface
public interface InterfaceAddresses {

    Set<IpAddress> read() throws IOException;

    /** The host's interfaces as the JDK lists them (netlink underneath on Linux). */
    InterfaceAddresses SYSTEM = () -> {
        Set<IpAddress> out = new HashSet<>();
        try {
            Enumeration<NetworkInterface> all = NetworkInterface.getNetworkInterfaces();
            while (all != null && all.hasMoreElements()) {
                // Down interfaces too: an address can be brought up between two reads.
                Enumeration<InetAddress> addresses = all.nextElement().getInetAddresses();
                while (addresses.hasMoreElements()) {
                    out.add(IpAddress.fromBytes(addresses.nextElement().getAddress()));
                }
            }
        } catch (SocketException e) {
            throw new IOException("cannot list the host's network interfaces: " + e.getMessage(), e);
        }
        return out;
    };
}
