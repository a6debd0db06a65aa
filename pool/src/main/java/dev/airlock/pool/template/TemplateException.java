package dev.airlock.pool.template;

/** An Airlock-side failure building or refreshing a template (git, files, the host): exit 125. Its message says how to fix it. */
public final class TemplateException extends Exception {

    private static final long serialVersionUID = 1L;

    public TemplateException(String message) {
        super(message);
    }

    public TemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}
