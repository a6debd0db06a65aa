package dev.airlock.pool.template;

import java.io.File;
import java.util.concurrent.TimeUnit;

/**
 * Runs setup steps with {@code sh -c} directly in the tree, as this test process: the template
 * logic without the sandbox (which needs root, and is covered by TemplateSandboxIT).
 */
final class LocalSetupRunner implements SetupRunner {

    int runs;

    @Override
    public int run(Request r) throws TemplateException {
        runs++;
        int n = r.steps().size();
        for (int i = 0; i < n; i++) {
            r.progress().setupStep(i + 1, n, r.steps().get(i));
            try {
                Process p = new ProcessBuilder("sh", "-c", r.steps().get(i)).directory(r.tree().toFile()).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(r.log().toFile())).redirectInput(new File("/dev/null")).start();
                if (!p.waitFor(60, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return 124;
                }
                if (p.exitValue() != 0) {
                    return p.exitValue();
                }
            } catch (Exception e) {
                throw new TemplateException("local setup failed: " + e, e);
            }
        }
        return 0;
    }
}
