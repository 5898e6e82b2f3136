/**
 * Elasticsearch's transport TLS: a Job makes the node certificate once (elasticsearch-certutil) and
 * stores it in a Secret the component owns; its Role may only read and patch that one Secret; its
 * only path out is the API server.
 */
import * as k8s from "@pulumi/kubernetes";
import { ANYWHERE, API_SERVER_PORTS, containerSecurityContext, podSecurityContext, resources, WorkloadScope } from "../kit";
import { ES_HOME, TRANSPORT_KEYSTORE } from "./elasticsearch-config";
import { IMAGES } from "./images";
import { JOB_DEADLINE_SECONDS } from "./jobs";
import { ELASTIC_UID, ELASTICSEARCH } from "./peers";

/** The Job that issues the Elasticsearch transport certificate (`app.kubernetes.io/name`); it reads and writes a Secret through the API server. */
export const TRANSPORT_CERT_APP = "transport-cert";
const APP = TRANSPORT_CERT_APP;

/**
 * The script of the transport-certificate Job (runs in the Elasticsearch image,
 * which has `elasticsearch-certutil` and curl). Idempotent: when the Secret
 * already holds a keystore it does nothing, so certificates are made once.
 * Env: NAMESPACE, SECRET_NAME.
 */
export function transportCertScript(): string {
  return `#!/bin/bash
set -euo pipefail
sa=/var/run/secrets/kubernetes.io/serviceaccount
url="https://kubernetes.default.svc/api/v1/namespaces/\${NAMESPACE}/secrets/\${SECRET_NAME}"
api() { curl -fsS --retry 10 --retry-all-errors --retry-delay 3 --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" "$@"; }
if api "$url" | grep -q '"${TRANSPORT_KEYSTORE}"'; then
  echo "transport keystore already present in \${SECRET_NAME}; nothing to do"
  exit 0
fi
cd /tmp
${ES_HOME}/bin/elasticsearch-certutil ca --silent --days 3650 --out /tmp/ca.p12 --pass ""
${ES_HOME}/bin/elasticsearch-certutil cert --silent --days 3650 --ca /tmp/ca.p12 --ca-pass "" --out /tmp/${TRANSPORT_KEYSTORE} --pass ""
printf '{"data":{"${TRANSPORT_KEYSTORE}":"%s"}}' "$(base64 -w0 /tmp/${TRANSPORT_KEYSTORE})" > /tmp/patch.json
api -X PATCH -H "Content-Type: application/merge-patch+json" --data-binary @/tmp/patch.json "$url" > /dev/null
echo "transport keystore stored in \${SECRET_NAME}"
`;
}


/** The transport Secret (its name, for the StatefulSet's volume) and the Job that fills it. */
export function createTransportTls(s: WorkloadScope): { secretName: string; job: k8s.batch.v1.Job } {
  const secretName = `${s.name}-elasticsearch-transport`;
  const secret = new k8s.core.v1.Secret(
    `${s.name}-elasticsearch-transport`,
    { metadata: s.meta("elasticsearch", secretName), type: "Opaque" },
    // The certificate Job writes the keystore into this Secret; Pulumi owns the object, not its data.
    { ...s.opts, ignoreChanges: ["data", "stringData"] },
  );
  const sa = new k8s.core.v1.ServiceAccount(`${s.name}-transport-cert`, { metadata: s.meta(APP) }, s.opts);
  const role = new k8s.rbac.v1.Role(
    `${s.name}-transport-cert`,
    {
      metadata: s.meta(APP),
      // Read and patch exactly one Secret.
      rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [secretName], verbs: ["get", "patch"] }],
    },
    s.opts,
  );
  const binding = new k8s.rbac.v1.RoleBinding(
    `${s.name}-transport-cert`,
    {
      metadata: s.meta(APP),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role.metadata.name },
      subjects: [{ kind: "ServiceAccount", name: sa.metadata.name, namespace: s.namespace }],
    },
    s.opts,
  );
  const script = new k8s.core.v1.ConfigMap(`${s.name}-transport-cert`, { metadata: s.meta(APP), data: { "transport-cert.sh": transportCertScript() } }, s.opts);
  const job = new k8s.batch.v1.Job(
    `${s.name}-transport-cert`,
    {
      metadata: s.meta(APP),
      spec: {
        backoffLimit: 6,
        activeDeadlineSeconds: JOB_DEADLINE_SECONDS,
        template: {
          metadata: { labels: s.labels(APP) },
          spec: {
            // Runs the Elasticsearch image: placed where Elasticsearch runs (where that image is).
            ...s.placement(ELASTICSEARCH.app),
            restartPolicy: "OnFailure",
            serviceAccountName: sa.metadata.name,
            securityContext: podSecurityContext(ELASTIC_UID, ELASTIC_UID),
            containers: [
              {
                name: APP,
                image: s.image(ELASTICSEARCH.app, IMAGES.elasticsearch),
                command: ["bash", "/scripts/transport-cert.sh"],
                env: [
                  { name: "NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                  { name: "SECRET_NAME", value: secretName },
                  { name: "CLI_JAVA_OPTS", value: "-Xms64m -Xmx256m" },
                ],
                resources: resources("100m", "512Mi", "1"),
                securityContext: containerSecurityContext(),
                volumeMounts: [
                  { name: "scripts", mountPath: "/scripts", readOnly: true },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
            ],
            volumes: [
              { name: "scripts", configMap: { name: script.metadata.name } },
              { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
            ],
          },
        },
      },
    },
    { ...s.opts, dependsOn: [secret, binding] },
  );
  s.allow(APP, { egress: [{ name: "api-server", pods: s.selector(APP), peer: { cidr: ANYWHERE }, ports: API_SERVER_PORTS }] });
  return { secretName, job };
}
