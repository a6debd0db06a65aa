package dev.airlock.k8s;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Starts one {@link ControlPlane} per test class and stops it after the class (the store closes
 * it); tests receive it as a parameter.
 */
public final class ControlPlaneExtension implements BeforeAllCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ControlPlaneExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        context.getStore(NS).put("cp", new Running(ControlPlane.start()));
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == ControlPlane.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return e.getStore(NS).get("cp", Running.class).controlPlane();
    }

    /** Closed by JUnit with the class's store. */
    private record Running(ControlPlane controlPlane) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            controlPlane.close();
        }
    }
}
