package dev.airlock.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code airlock gateway}'s options that are refused before anything starts. */
class GatewayCommandTest {

    @Test
    void dnsClients_withoutDns_isRefusedSayingWhy() {
        Cli r = Cli.run("gateway", "--dns-clients", "10.244.0.0/16");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("--dns-clients 10.244.0.0/16 needs --dns ADDR:PORT");
    }

    @Test
    void dnsClients_notACidr_isRefusedWithAnExample() {
        Cli r = Cli.run("gateway", "--dns", "127.0.0.1:0", "--dns-clients", "10.244.0.0/33");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("--dns-clients 10.244.0.0/33 is not a CIDR").contains("10.244.0.0/16");
    }

    @Test
    void auditForward_withoutTokenFile_isRefusedSayingWhy() {
        Cli r = Cli.run("gateway", "--audit-forward", "https://127.0.0.1:7071/v1/audit/records");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("--audit-forward needs --audit-token-file FILE");
    }

    @Test
    void auditForward_notAnHttpsUrl_isRefusedWithAnExample() {
        Cli r = Cli.run("gateway", "--audit-forward", "daemon:7071", "--audit-token-file", "/dev/null");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("--audit-forward daemon:7071").contains("https://airlock-daemon.airlock.svc:7071/v1/audit/records");
    }

    @Test
    void auditForward_plainHttp_isRefused_tokenAndRecordsNeverGoInClear() {
        Cli r = Cli.run("gateway", "--audit-forward", "http://127.0.0.1:7071/v1/audit/records", "--audit-token-file", "/dev/null",
                "--audit-ca-file", "/dev/null");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("is plain http").contains("Fix: write https://");
    }

    @Test
    void auditForward_withoutCaFile_isRefusedSayingWhereTheCaIs() {
        Cli r = Cli.run("gateway", "--audit-forward", "https://127.0.0.1:7071/v1/audit/records", "--audit-token-file", "/dev/null");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("--audit-forward needs --audit-ca-file FILE").contains("airlock-PROJECT-audit-ca");
    }

    @Test
    void auditCaFile_notPem_isRefusedNamingTheFile() {
        Cli r = Cli.run("gateway", "--audit-forward", "https://127.0.0.1:7071/v1/audit/records", "--audit-token-file", "/dev/null",
                "--audit-ca-file", "/dev/null");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("--audit-ca-file /dev/null is not PEM certificates").contains("BEGIN CERTIFICATE");
    }

    @Test
    void auditTokenFile_withoutAuditForward_isRefused() {
        Cli r = Cli.run("gateway", "--audit-token-file", "/dev/null");
        assertThat(r.code()).isEqualTo(ExitCodes.BAD_INPUT);
        assertThat(r.err()).contains("need --audit-forward URL");
    }
}
