package dev.airlock.pool.sim;

import dev.airlock.pool.sizing.AutoSizer;
import java.time.Instant;

/** What pool size the simulated daemon keeps: a fixed size, or what auto mode asks for at each moment. */
public sealed interface SizingPolicy {

    int sizeAt(Instant t);

    /** Whether the size can change over time (the simulator then re-reads it once a minute, as the daemon would). */
    boolean varies();

    record Fixed(int size) implements SizingPolicy {
        public Fixed {
            if (size < 0) {
                throw new IllegalArgumentException("pool size must be at least 0: " + size);
            }
        }

        @Override
        public int sizeAt(Instant t) {
            return size;
        }

        @Override
        public boolean varies() {
            return false;
        }
    }

    record Auto(AutoSizer sizer) implements SizingPolicy {
        @Override
        public int sizeAt(Instant t) {
            return sizer.desiredSizeAt(t);
        }

        @Override
        public boolean varies() {
            return true;
        }
    }
}
