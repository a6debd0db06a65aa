/** See DESIGN.md §1: the audit module. */
package dev.airlock.audit;
