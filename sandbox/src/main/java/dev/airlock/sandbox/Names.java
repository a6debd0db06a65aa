package dev.airlock.sandbox;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The names of a sandbox's kernel objects, all derived from its id, and the exact shapes the reaper
 * and the privileged switch accept.
 *
 * <p>Design: the shapes are exact ({@code alk} + 8 lower-case hex digits, then nothing or one
 * suffix letter), not "starts with alk". An object is only ever deleted when its name has one of
 * these shapes, so the launcher never touches another tool's objects, nor the kernel tests' own
 * ({@code alkt…}, {@code alk-t…}, {@code alk_t…}, {@code alkit…}: "t" and "i" are not hex digits).
 * The longest name, a link, is 12 characters: within the kernel's 15 (IFNAMSIZ - 1).
 */
final class Names {

    static final String PREFIX = "alk";
    private static final String HEX8 = "[0-9a-f]{8}";
    static final Pattern ID = Pattern.compile(PREFIX + "(" + HEX8 + ")");
    static final Pattern NETNS = ID;
    static final Pattern HOST_LINK = Pattern.compile(PREFIX + "(" + HEX8 + ")h");
    static final Pattern SANDBOX_LINK = Pattern.compile(PREFIX + "(" + HEX8 + ")s");
    static final Pattern NFT_TABLE = Pattern.compile(PREFIX + "_(" + HEX8 + ")");
    static final Pattern CGROUP = ID;

    private static final SecureRandom RANDOM = new SecureRandom();

    private Names() {
    }

    /** A fresh random id: {@code alk} + 8 hex digits (32 random bits). */
    static String newId() {
        return PREFIX + HexFormat.of().toHexDigits(RANDOM.nextInt());
    }

    static String hex(String id) {
        Matcher m = ID.matcher(id);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a sandbox id: " + id);
        }
        return m.group(1);
    }

    static String netns(String id) {
        return PREFIX + hex(id);
    }

    static String hostLink(String id) {
        return PREFIX + hex(id) + "h";
    }

    static String sandboxLink(String id) {
        return PREFIX + hex(id) + "s";
    }

    static String nftTable(String id) {
        return PREFIX + "_" + hex(id);
    }

    /** The sandbox id an object name belongs to, when the name has one of the exact shapes. */
    static Optional<String> idOf(Pattern shape, String name) {
        Matcher m = shape.matcher(name);
        return m.matches() ? Optional.of(PREFIX + m.group(1)) : Optional.empty();
    }

    static boolean isId(String s) {
        return s != null && ID.matcher(s).matches();
    }
}
