package dev.airlock.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The module direction of DESIGN.md §1: dependencies point toward the pure policy core. This test
 * lives in the cli module because cli sees every other module's classes.
 */
@AnalyzeClasses(packages = "dev.airlock", importOptions = ImportOption.DoNotIncludeTests.class)
class ModuleDirectionTest {

    @ArchTest
    static final ArchRule modules_dependInward = layeredArchitecture()
            .consideringOnlyDependenciesInLayers()
            .layer("cli").definedBy("dev.airlock.cli..")
            .layer("server").definedBy("dev.airlock.server..")
            .layer("audit").definedBy("dev.airlock.audit..")
            .layer("pool").definedBy("dev.airlock.pool..")
            .layer("runtime").definedBy("dev.airlock.runtime..")
            .layer("gateway").definedBy("dev.airlock.gateway..")
            .layer("sandbox").definedBy("dev.airlock.sandbox..")
            .layer("policy").definedBy("dev.airlock.policy..")
            .whereLayer("cli").mayNotBeAccessedByAnyLayer()
            .whereLayer("server").mayOnlyBeAccessedByLayers("cli")
            .whereLayer("audit").mayOnlyBeAccessedByLayers("cli", "server")
            .whereLayer("pool").mayOnlyBeAccessedByLayers("cli", "server", "audit")
            .whereLayer("runtime").mayOnlyBeAccessedByLayers("cli", "server", "audit", "pool")
            .whereLayer("gateway").mayOnlyBeAccessedByLayers("cli", "server", "audit", "pool", "runtime")
            .whereLayer("sandbox").mayOnlyBeAccessedByLayers("cli", "server", "audit", "pool", "runtime")
            .withOptionalLayers(true);

    @ArchTest
    static final ArchRule policy_isPure = noClasses().that().resideInAPackage("dev.airlock.policy..")
            .should().dependOnClassesThat().resideInAnyPackage(
                    "io.netty..", "java.nio.channels..", "java.net.http..", "org.xbill..", "picocli..",
                    "org.slf4j..", "dev.airlock.gateway..", "dev.airlock.cli..")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.ProcessBuilder")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.lang.Process")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.net.Socket")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.net.ServerSocket")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.net.DatagramSocket")
            .orShould().dependOnClassesThat().haveFullyQualifiedName("java.net.InetAddress")
            .because("policy is the pure core: no network or process I/O, and addresses are classified"
                    + " from explicit tables, never InetAddress.isXxx (DESIGN.md §1)");

    @ArchTest
    static final ArchRule policy_usesNoSystemClock = noClasses().that().resideInAPackage("dev.airlock.policy..")
            .should().callMethod(System.class, "currentTimeMillis")
            .orShould().callMethod(System.class, "nanoTime")
            .because("decisions are pure; time is injected where it is needed");
}
