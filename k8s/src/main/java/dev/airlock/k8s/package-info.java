/**
 * Kubernetes as a backend (issue 12): a project's egress gateway, policy and NetworkPolicies applied
 * to a cluster by server-side apply, agent pods that can only reach that gateway, the static
 * NetworkPolicy check over what the API server holds, and the warm pool as a controller.
 * Everything talks to the API server through the fabric8 client; nothing here touches the kernel.
 */
package dev.airlock.k8s;
