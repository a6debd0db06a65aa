/**
 * The usage history's record: one {@link dev.airlock.pool.usage.ClaimRecord} per claim, kept in the
 * daemon's state database ({@code dev.airlock.pool.state}). Sizing (docs/pool-sizing.md) reads it.
 */
package dev.airlock.pool.usage;
