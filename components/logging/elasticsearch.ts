/**
 * Elasticsearch: its configuration, the headless and client Services, the StatefulSet (retained
 * volumes), a PodDisruptionBudget with 3+ nodes, the setup Job (lifecycle policy, index template,
 * roles, users) and their NetworkPolicies: clients in on 9200, the nodes among themselves on 9300.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { filesChecksum, containerSecurityContext, podSecurityContext, resources, RETAIN_CLAIMS, WorkloadScope } from "../kit";
import { GRAFANA } from "../monitoring/peers";
import { Credentials, KEYS } from "./credentials";
import { elasticsearchSetupFiles, elasticsearchYml, ES_HOME, heapMegabytes, TRANSPORT_KEYSTORE } from "./elasticsearch-config";
import { IMAGES } from "./images";
import { curlJob } from "./jobs";
import { ELASTIC_UID, ELASTICSEARCH, ES_TRANSPORT_PORT, FLUENT_BIT, KIBANA } from "./peers";

/** What Elasticsearch needs from the composer. */
export interface ElasticsearchInput {
  replicas: number;
  memory: string;
  storageSize: string;
  storageClass: string;
  retentionDays: number;
  credentials: Credentials;
  transport: { secretName: string; job: k8s.batch.v1.Job };
}

/** Elasticsearch of one Logging; returns its URL and the setup Job its clients wait for. */
export function createElasticsearch(s: WorkloadScope, input: ElasticsearchInput): { url: pulumi.Output<string>; ready: k8s.batch.v1.Job } {
  const app = ELASTICSEARCH.app;
  const objName = `${s.name}-elasticsearch`;
  const headless = `${s.name}-elasticsearch-nodes`;
  const url = pulumi.interpolate`http://${objName}.${s.namespace}.svc:${ELASTICSEARCH.port}`;
  const heapMb = heapMegabytes(s.bytes("memory", input.memory));
  const env = input.credentials.env;

  const ymlText = elasticsearchYml({ clusterName: s.name, replicas: input.replicas, statefulSet: objName, headlessService: headless });
  const config = new k8s.core.v1.ConfigMap(`${s.name}-elasticsearch`, { metadata: s.meta(app), data: { "elasticsearch.yml": ymlText } }, s.opts);
  const selector = s.selector(app);
  new k8s.core.v1.Service(
    `${s.name}-elasticsearch-nodes`,
    {
      metadata: s.meta(app, headless),
      spec: {
        clusterIP: "None",
        // Discovery must resolve nodes that are not ready yet (they become ready only once a master is elected).
        publishNotReadyAddresses: true,
        selector,
        ports: [
          { name: "http", port: ELASTICSEARCH.port, targetPort: "http" },
          { name: "transport", port: ES_TRANSPORT_PORT, targetPort: "transport" },
        ],
      },
    },
    s.opts,
  );
  s.service(app, ELASTICSEARCH.port);
  const statefulSet = new k8s.apps.v1.StatefulSet(
    `${s.name}-elasticsearch`,
    {
      metadata: s.meta(app, objName),
      spec: {
        serviceName: headless,
        persistentVolumeClaimRetentionPolicy: RETAIN_CLAIMS,
        replicas: input.replicas,
        // All nodes start together: a multi-node cluster elects its first master only when a quorum is up.
        podManagementPolicy: "Parallel",
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: s.labels(app), annotations: { "shop.io/config-checksum": filesChecksum(ymlText) } },
          spec: {
            ...s.placement(app),
            automountServiceAccountToken: false,
            securityContext: podSecurityContext(ELASTIC_UID, ELASTIC_UID),
            terminationGracePeriodSeconds: 120,
            ...(input.replicas > 1
              ? {
                  affinity: {
                    podAntiAffinity: {
                      preferredDuringSchedulingIgnoredDuringExecution: [
                        { weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: selector } } },
                      ],
                    },
                  },
                }
              : {}),
            initContainers: [
              {
                // The image's config directory must be writable (keystore) while the root fs stays read-only:
                // copy it to an emptyDir and lay our elasticsearch.yml over it.
                name: "config",
                image: s.image(app, IMAGES.elasticsearch),
                command: ["bash", "-c", `cp -a ${ES_HOME}/config/. /config/ && cp /custom/elasticsearch.yml /config/elasticsearch.yml`],
                resources: resources("50m", "64Mi", "200m"),
                securityContext: containerSecurityContext(),
                volumeMounts: [
                  { name: "config", mountPath: "/config" },
                  { name: "custom", mountPath: "/custom", readOnly: true },
                ],
              },
            ],
            containers: [
              {
                name: "elasticsearch",
                image: s.image(app, IMAGES.elasticsearch),
                env: [
                  { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                  { name: "ES_JAVA_OPTS", value: `-Xms${heapMb}m -Xmx${heapMb}m` },
                  // The image's entrypoint sets the `elastic` user's bootstrap password from this.
                  env("ELASTIC_PASSWORD", KEYS.elastic),
                ],
                ports: [
                  { name: "http", containerPort: ELASTICSEARCH.port },
                  { name: "transport", containerPort: ES_TRANSPORT_PORT },
                ],
                startupProbe: { tcpSocket: { port: "http" }, periodSeconds: 10, failureThreshold: 60 },
                readinessProbe: {
                  exec: {
                    command: [
                      "bash",
                      "-c",
                      `curl -fsS -o /dev/null -u "elastic:\${ELASTIC_PASSWORD}" "http://127.0.0.1:${ELASTICSEARCH.port}/_cluster/health?local=true&timeout=2s"`,
                    ],
                  },
                  periodSeconds: 10,
                  timeoutSeconds: 5,
                  failureThreshold: 3,
                },
                livenessProbe: { tcpSocket: { port: "transport" }, periodSeconds: 20, failureThreshold: 5 },
                resources: resources("500m", input.memory, "2"),
                securityContext: containerSecurityContext(),
                volumeMounts: [
                  { name: "config", mountPath: `${ES_HOME}/config` },
                  { name: "transport", mountPath: `${ES_HOME}/config/certs`, readOnly: true },
                  { name: "data", mountPath: `${ES_HOME}/data` },
                  { name: "logs", mountPath: `${ES_HOME}/logs` },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
            ],
            volumes: [
              { name: "config", emptyDir: { sizeLimit: "64Mi" } },
              { name: "custom", configMap: { name: config.metadata.name } },
              { name: "transport", secret: { secretName: input.transport.secretName, items: [{ key: TRANSPORT_KEYSTORE, path: TRANSPORT_KEYSTORE }] } },
              { name: "logs", emptyDir: { sizeLimit: "512Mi" } },
              { name: "tmp", emptyDir: { sizeLimit: "512Mi" } },
            ],
          },
        },
        volumeClaimTemplates: [
          s.dataClaim(app, input.storageSize, input.storageClass),
        ],
      },
    },
    { ...s.opts, dependsOn: [input.transport.job] },
  );
  if (input.replicas > 1) {
    new k8s.policy.v1.PodDisruptionBudget(
      `${s.name}-elasticsearch`,
      { metadata: s.meta(app), spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
      s.opts,
    );
  }

  // ---- setup Job: lifecycle policy, index template, roles and users (every call idempotent) ----
  const setupFiles = new k8s.core.v1.ConfigMap(
    `${s.name}-es-setup`,
    { metadata: s.meta("es-setup"), data: elasticsearchSetupFiles(input.retentionDays, input.replicas) },
    s.opts,
  );
  const setup = curlJob(
    s,
    "es-setup",
    app,
    setupFiles,
    "setup.sh",
    [
      { name: "ES_URL", value: url },
      env("ELASTIC_PASSWORD", KEYS.elastic),
      env("FLUENT_BIT_PASSWORD", KEYS.fluentBit),
      env("READER_PASSWORD", KEYS.reader),
      env("KIBANA_PASSWORD", KEYS.kibana),
    ],
    [statefulSet],
  );

  // ---- NetworkPolicies ----
  const port = [ELASTICSEARCH.port];
  s.allow(app, {
    ingress: [
      { name: "fluent-bit", pods: selector, peer: { pods: s.selector(FLUENT_BIT.app) }, ports: port },
      { name: "kibana", pods: selector, peer: { pods: s.selector(KIBANA.app) }, ports: port },
      { name: "es-setup", pods: selector, peer: { pods: s.selector("es-setup") }, ports: port },
      // Grafana's log datasource (Monitoring, same namespace).
      { name: "grafana", pods: selector, peer: { pods: GRAFANA.pods }, ports: port },
      { name: "nodes", pods: selector, peer: { pods: selector }, ports: [ES_TRANSPORT_PORT] },
    ],
    egress: [{ name: "nodes", pods: selector, peer: { pods: selector }, ports: [ES_TRANSPORT_PORT] }],
  });
  s.allow("es-setup", { egress: [{ name: "elasticsearch", pods: s.selector("es-setup"), peer: { pods: selector }, ports: port }] });
  return { url, ready: setup };
}
