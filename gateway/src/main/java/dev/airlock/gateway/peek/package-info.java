/**
 * Pure parsers for the first bytes of an intercepted connection, before Airlock dials anything:
 * {@link dev.airlock.gateway.peek.ClientHelloPeek} reads the TLS server names on TLS ports, and
 * {@link dev.airlock.gateway.peek.HttpHeadPeek} reads the {@code Host} of the first request on
 * plain-HTTP ports. Both take the bytes received so far as a {@link java.nio.ByteBuffer}, return a
 * sealed result, never throw, never change the buffer, and examine a bounded number of bytes. They
 * know nothing of Netty, so that they can be fuzzed directly.
 */
package dev.airlock.gateway.peek;
