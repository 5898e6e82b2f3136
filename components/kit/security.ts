/**
 * Pod and container security for the Pod Security Admission `restricted` profile, and the image pull
 * Secret's document.
 */
import * as k8s from "@pulumi/kubernetes";

/**
 * Pod-level security for the Pod Security Admission `restricted` profile: runs as `uid:gid`; with
 * `fsGroup` the kubelet makes volumes group-owned (and group-writable) by that group.
 */
export function podSecurityContext(uid: number, fsGroup?: number, gid = uid): k8s.types.input.core.v1.PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    ...(fsGroup !== undefined ? { fsGroup, fsGroupChangePolicy: "OnRootMismatch" } : {}),
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/**
 * Container-level security for the `restricted` profile. `runAsNonRoot` is false only for the one
 * workload that must read root-owned host files (Fluent Bit); it still drops every capability.
 */
export function containerSecurityContext(readOnlyRootFilesystem = true, runAsNonRoot = true): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsNonRoot,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/**
 * The `.dockerconfigjson` of an image pull Secret (type `kubernetes.io/dockerconfigjson`) for one
 * registry: the same document `docker login` writes.
 */
export function dockerConfigJson(server: string, username: string, password: string): string {
  const auth = Buffer.from(`${username}:${password}`).toString("base64");
  return JSON.stringify({ auths: { [server]: { username, password, auth } } });
}
