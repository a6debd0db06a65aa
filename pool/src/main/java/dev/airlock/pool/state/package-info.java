/**
 * The daemon's state database ({@code $STATE/airlock.db}): {@link dev.airlock.pool.state.StateDatabase}
 * owns the file, its schema and migrations and every query; its users take
 * {@link dev.airlock.pool.state.UsageHistory}, {@link dev.airlock.pool.state.MemberLog} or
 * {@link dev.airlock.pool.state.PoolHistory}.
 */
package dev.airlock.pool.state;
