/**
 * A discrete-event simulator that replays a usage trace against a sizing policy
 * (docs/pool-sizing.md, "Simulating"), deterministic for a given seed.
 */
package dev.airlock.pool.sim;
