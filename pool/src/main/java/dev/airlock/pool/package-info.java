/** See DESIGN.md §1: the pool module. */
package dev.airlock.pool;
