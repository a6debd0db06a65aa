/** See DESIGN.md §1: the server module. */
package dev.airlock.server;
