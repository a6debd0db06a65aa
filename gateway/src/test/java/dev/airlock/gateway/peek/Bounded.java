package dev.airlock.gateway.peek;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/** Test helpers shared by the property tests: a watchdog for "never loops", and byte searching. */
final class Bounded {

    /** Generous: a parse takes microseconds; only a loop takes this long. */
    private static final long TIMEOUT_SECONDS = 10;

    private static final ExecutorService WATCHED = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "peek-watchdog");
        t.setDaemon(true);
        return t;
    });

    private Bounded() {
    }

    /** Runs {@code parse} on another thread and fails, instead of hanging the build, if it does not return. */
    static <T> T run(Supplier<T> parse) {
        Future<T> f = WATCHED.submit(parse::get);
        try {
            return f.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new AssertionError("the parser did not return within " + TIMEOUT_SECONDS + " s (a loop?)", e);
        } catch (ExecutionException e) {
            throw new AssertionError("the parser threw " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** True when the bytes of {@code s} (one byte per char) occur contiguously in {@code haystack}. */
    static boolean containsVerbatim(byte[] haystack, String s) {
        byte[] needle = s.getBytes(StandardCharsets.ISO_8859_1);
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** True when {@code s} has a C0 control character or DEL: text that must never reach a log raw. */
    static boolean hasControl(String s) {
        return s.chars().anyMatch(c -> c < 0x20 || c == 0x7F);
    }
}
