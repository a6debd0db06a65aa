package dev.airlock.audit.battery;

/** The positive control of a local target: reached from outside the sandbox, and what was seen. */
public record ControlResult(String description, boolean reached, String detail) {
}
