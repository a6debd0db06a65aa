package dev.airlock.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.airlock.audit.k8s.StaticCheck;
import dev.airlock.audit.k8s.StaticReportFormat;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code audit static} over the NetworkPolicies a real API server holds after apply. */
@ExtendWith(ControlPlaneExtension.class)
class ClusterStaticCheckIT {

    @Test
    void check_beforeApply_findsProductionOpen(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        ProjectNames names = new ProjectNames("payments");

        StaticCheck.Report r = ClusterStaticCheck.check(cp.admin(), ns, names.agentPods(), Fixtures.org());

        assertThat(r.isolated()).isFalse();
        assertThat(r.productionReachable()).isTrue();
    }

    @Test
    void check_overWhatWasApplied_findsNoProductionReachable(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        new ProjectApplier(cp.admin()).apply(Fixtures.manifests(ns));

        StaticCheck.Report r = ClusterStaticCheck.check(cp.admin(), ns, new ProjectNames("payments").agentPods(), Fixtures.org());

        assertThat(r.policiesRead()).isEqualTo(2);
        assertThat(r.isolated()).isTrue();
        assertThat(r.selecting()).extracting(p -> p.name()).containsExactly("airlock-payments-agents");
        assertThat(r.findings()).as(StaticReportFormat.human(r)).isEmpty();
        assertThat(r.dnsWarnings()).isEmpty();
    }

    @Test
    void check_withAuditForwarding_agentsStillReachNoProduction(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        new ProjectApplier(cp.admin()).apply(Fixtures.forwardingManifests(ns));

        StaticCheck.Report r = ClusterStaticCheck.check(cp.admin(), ns, new ProjectNames("payments").agentPods(), Fixtures.org());

        assertThat(r.policiesRead()).isEqualTo(2);
        assertThat(r.isolated()).isTrue();
        assertThat(r.findings()).as(StaticReportFormat.human(r)).isEmpty();
    }

    @Test
    void check_whenSomeoneAddsAPolicyOpeningProduction_failsNamingIt(ControlPlane cp) throws Exception {
        String ns = cp.newNamespace();
        KubernetesClient k = cp.admin();
        new ProjectApplier(k).apply(Fixtures.manifests(ns));
        k.network().v1().networkPolicies().inNamespace(ns).resource(new NetworkPolicyBuilder()
                .withNewMetadata().withName("debug-egress").endMetadata()
                .withNewSpec().withNewPodSelector().addToMatchLabels("app", "airlock-agent").endPodSelector()
                .withPolicyTypes("Egress")
                .addNewEgress().addNewTo().withNewIpBlock().withCidr("198.19.0.0/16").endIpBlock().endTo().endEgress()
                .endSpec().build()).create();

        StaticCheck.Report r = ClusterStaticCheck.check(k, ns, new ProjectNames("payments").agentPods(), Fixtures.org());

        assertThat(r.productionReachable()).isTrue();
        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.reachable()).extracting(Object::toString).containsExactly(Fixtures.PRODUCTION_CIDR);
            assertThat(f.cause()).isInstanceOfSatisfying(StaticCheck.ByRule.class,
                    b -> assertThat(b.policy().name()).isEqualTo("debug-egress"));
        });
    }
}
