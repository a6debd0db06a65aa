package dev.airlock.k8s;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The k8s module's place in DESIGN.md §1: beside server, using pool, audit and policy. It never
 * touches the kernel (gateway, sandbox) and never reaches up into the daemon or the commands.
 * (cli's ModuleDirectionTest does not see this module's classes.)
 */
@AnalyzeClasses(packages = "dev.airlock.k8s", importOptions = ImportOption.DoNotIncludeTests.class)
class K8sModuleDirectionTest {

    @ArchTest
    static final ArchRule k8s_dependsOnPoolAuditPolicyOnly = noClasses().that().resideInAPackage("dev.airlock.k8s..")
            .should().dependOnClassesThat().resideInAnyPackage("dev.airlock.cli..", "dev.airlock.server..", "dev.airlock.gateway..",
                    "dev.airlock.sandbox..", "dev.airlock.runtime..")
            .because("docs/ARCHITECTURE.md: k8s may depend on pool, audit and policy");
}
