/**
 * Pure parsers for the bytes of an intercepted connection, before Airlock relays them:
 * {@link dev.airlock.gateway.peek.FirstBytes} tells TLS, HTTP/1, the HTTP/2 preface and opaque
 * bytes apart by the first bytes (never by the port), {@link dev.airlock.gateway.peek.ClientHelloPeek}
 * reads the TLS server names, {@link dev.airlock.gateway.peek.HttpHeadPeek} reads one request head
 * and its {@code Host}, and {@link dev.airlock.gateway.peek.HttpRequestStream} finds every later
 * head on a kept-alive connection by its body framing. They take the bytes received so far as a
 * {@link java.nio.ByteBuffer}, return a sealed result, never throw, never change the buffer, and
 * examine a bounded number of bytes. They know nothing of Netty, so that they can be fuzzed directly.
 */
package dev.airlock.gateway.peek;
