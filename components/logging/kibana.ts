/**
 * Kibana: its configuration, the server under a path of the shop's public host, the data-view Job,
 * and their NetworkPolicies: the edge namespace in on Kibana's port only; Elasticsearch out. The route
 * to it belongs to the routing component.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { containerSecurityContext, podSecurityContext, resources, WorkloadScope } from "../kit";
import { Credentials, KEYS } from "./credentials";
import { IMAGES } from "./images";
import { curlJob } from "./jobs";
import { dataViewFiles, kibanaYml } from "./kibana-config";
import { ELASTIC_UID, ELASTICSEARCH, KIBANA } from "./peers";

/** What Kibana needs from the composer. */
export interface KibanaInput {
  elasticsearchUrl: pulumi.Output<string>;
  shopNamespace: pulumi.Output<string>;
  path: string;
  /** `<scheme>://<host><path>` when the public host is known. */
  publicBaseUrl?: string;
  memory: string;
  edgeNamespace: string;
  credentials: Credentials;
  /** The setup Job (it sets kibana_system's password). */
  after: pulumi.Resource;
}

/** Kibana of one Logging; returns the backend a route points at. */
export function createKibana(s: WorkloadScope, input: KibanaInput): { backend: { serviceName: pulumi.Output<string>; port: number } } {
  const app = KIBANA.app;
  const objName = `${s.name}-kibana`;
  const memoryMb = s.bytes("kibanaMemory", input.memory) / 2 ** 20;
  const env = input.credentials.env;
  const config = new k8s.core.v1.ConfigMap(
    `${s.name}-kibana`,
    {
      metadata: s.meta(app),
      data: { "kibana.yml": input.elasticsearchUrl.apply((u) => kibanaYml({ elasticsearchUrl: u, basePath: input.path, publicBaseUrl: input.publicBaseUrl })) },
    },
    s.opts,
  );
  const selector = s.selector(app);
  const status = { httpGet: { path: `${input.path}/api/status`, port: "http" } };
  // kibana_system's password is set by the setup Job.
  const kibana = s.deployment(app, {
    automountServiceAccountToken: false,
    securityContext: podSecurityContext(ELASTIC_UID, ELASTIC_UID),
    containers: [
      {
        name: "kibana",
        image: s.image(app, IMAGES.kibana),
        env: [
          env("KIBANA_PASSWORD", KEYS.kibana),
          env("KIBANA_ENCRYPTION_KEY", KEYS.kibanaKey),
          { name: "NODE_OPTIONS", value: `--max-old-space-size=${Math.floor(memoryMb * 0.7)}` },
        ],
        ports: [{ name: "http", containerPort: KIBANA.port }],
        startupProbe: { ...status, periodSeconds: 10, failureThreshold: 60 },
        readinessProbe: { ...status, periodSeconds: 10, timeoutSeconds: 5 },
        livenessProbe: { tcpSocket: { port: "http" }, periodSeconds: 20, failureThreshold: 5 },
        resources: resources("100m", input.memory, "1"),
        securityContext: containerSecurityContext(),
        volumeMounts: [
          { name: "config", mountPath: "/usr/share/kibana/config/kibana.yml", subPath: "kibana.yml", readOnly: true },
          { name: "data", mountPath: "/usr/share/kibana/data" },
          { name: "tmp", mountPath: "/tmp" },
        ],
      },
    ],
    volumes: [
      { name: "config", configMap: { name: config.metadata.name } },
      { name: "data", emptyDir: { sizeLimit: "256Mi" } },
      { name: "tmp", emptyDir: { sizeLimit: "256Mi" } },
    ],
  }, { dependsOn: [input.after] });
  const service = s.service(app, KIBANA.port);

  // ---- the data view over the shop's logs ----
  const dataView = new k8s.core.v1.ConfigMap(`${s.name}-data-view`, { metadata: s.meta("data-view"), data: input.shopNamespace.apply(dataViewFiles) }, s.opts);
  curlJob(
    s,
    "data-view",
    app,
    dataView,
    "data-view.sh",
    [{ name: "KIBANA_URL", value: pulumi.interpolate`http://${objName}.${s.namespace}.svc:${KIBANA.port}${input.path}` }, env("ELASTIC_PASSWORD", KEYS.elastic)],
    [kibana],
  );

  s.allow(app, {
    ingress: [
      { name: "edge", pods: selector, peer: { namespace: input.edgeNamespace }, ports: [KIBANA.port] },
      { name: "data-view", pods: selector, peer: { pods: s.selector("data-view") }, ports: [KIBANA.port] },
    ],
    egress: [{ name: "elasticsearch", pods: selector, peer: { pods: s.selector(ELASTICSEARCH.app) }, ports: [ELASTICSEARCH.port] }],
  });
  s.allow("data-view", { egress: [{ name: "kibana", pods: s.selector("data-view"), peer: { pods: selector }, ports: [KIBANA.port] }] });
  return { backend: { serviceName: service.metadata.name, port: KIBANA.port } };
}
