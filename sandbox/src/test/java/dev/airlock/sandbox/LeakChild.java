package dev.airlock.sandbox;

import java.nio.file.Path;

/**
 * A launcher in a child JVM that {@link SandboxLeakIT} kills with SIGKILL: it says "ready", prepares
 * one sandbox, says "prepared &lt;id&gt;", and waits to be killed. Nothing of its own cleanup runs.
 */
public final class LeakChild {

    private LeakChild() {
    }

    public static void main(String[] args) throws Exception {
        SandboxLauncher launcher = SandboxLauncher.system(Path.of(args[0]));
        System.out.println("ready");
        System.out.flush();
        Resources r = new Resources(64L << 20, 0.5, 64);
        GatewayPorts ports = new GatewayPorts(15001, 15053);
        // A third argument "template": args[1] is a template tree, mounted as a copy-on-write overlay.
        PreparedSandbox p = launcher.prepare(args.length > 2 && args[2].equals("template")
                ? SandboxSpec.overTemplate("leak", Path.of(args[1]), r, ports)
                : new SandboxSpec("leak", Path.of(args[1]), r, ports));
        System.out.println("prepared " + p.id());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
