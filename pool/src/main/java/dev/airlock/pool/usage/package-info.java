/**
 * The usage history: one {@link dev.airlock.pool.usage.ClaimRecord} per claim, kept in the daemon's
 * SQLite database by {@link dev.airlock.pool.usage.ClaimStore}. Sizing (docs/pool-sizing.md) reads it.
 */
package dev.airlock.pool.usage;
