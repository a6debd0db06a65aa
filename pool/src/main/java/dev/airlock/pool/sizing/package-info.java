/**
 * Pool sizing from measured usage (docs/pool-sizing.md): Erlang-B, the per-hour-of-week
 * {@link dev.airlock.pool.sizing.Recommendation}, and {@link dev.airlock.pool.sizing.AutoSizer}, which
 * the daemon asks for the pool size to keep right now.
 */
package dev.airlock.pool.sizing;
