package dev.airlock.k8s;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One {@link FakeKubelet} for a test class: started before its first test, closed after its last.
 * <pre>
 * &#64;RegisterExtension
 * static final FakeKubeletForClass kubelet = new FakeKubeletForClass();
 * </pre>
 */
public final class FakeKubeletForClass implements BeforeAllCallback, AfterAllCallback {

    private FakeKubelet kubelet;

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        kubelet = FakeKubelet.start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        if (kubelet != null) {
            kubelet.close();
        }
    }

    public FakeKubelet get() {
        if (kubelet == null) {
            throw new IllegalStateException("the fake kubelet starts before the class's first test: register this as a static field");
        }
        return kubelet;
    }
}
