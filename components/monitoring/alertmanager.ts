/**
 * Alertmanager: its configuration (a Secret: it holds the webhook URL), the server, and its
 * NetworkPolicies: Prometheus in; out only to the webhook's port, and only when a webhook is set.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as yaml from "js-yaml";
import { ANYWHERE, containerSecurityContext, podSecurityContext, resources, WorkloadScope } from "../kit";
import { alertmanagerConfig, webhookPort } from "./alertmanager-config";
import { IMAGES } from "./images";
import { ALERTMANAGER, NOBODY, PROMETHEUS } from "./peers";

/** Alertmanager of one Monitoring; `webhookUrl` (secret) receives every alert. Returns its in-cluster URL. */
export function createAlertmanager(s: WorkloadScope, webhookUrl?: pulumi.Input<string>): { url: pulumi.Output<string> } {
  const app = ALERTMANAGER.app;
  const objName = s.objectName(app);
  const webhook = webhookUrl !== undefined ? pulumi.output(webhookUrl) : undefined;
  const amYaml = webhook
    ? pulumi.secret(webhook.apply((url) => yaml.dump(alertmanagerConfig(url), { lineWidth: 200 })))
    : pulumi.output(yaml.dump(alertmanagerConfig(), { lineWidth: 200 }));
  // A Secret, not a ConfigMap: the rendered configuration holds the webhook URL.
  const secret = new k8s.core.v1.Secret(`${s.name}-alertmanager`, { metadata: s.meta(app), type: "Opaque", stringData: { "alertmanager.yml": amYaml } }, s.opts);
  const selector = s.selector(app);
  s.deployment(app, {
    automountServiceAccountToken: false,
    securityContext: podSecurityContext(NOBODY, NOBODY),
    containers: [
      {
        name: "alertmanager",
        image: s.image(app, IMAGES.alertmanager),
        args: [
          "--config.file=/etc/alertmanager/alertmanager.yml",
          "--storage.path=/alertmanager",
          `--web.listen-address=:${ALERTMANAGER.port}`,
          // One replica: no gossip cluster.
          "--cluster.listen-address=",
        ],
        ports: [{ name: "http", containerPort: ALERTMANAGER.port }],
        readinessProbe: { httpGet: { path: "/-/ready", port: "http" }, periodSeconds: 10 },
        livenessProbe: { httpGet: { path: "/-/healthy", port: "http" }, initialDelaySeconds: 10, periodSeconds: 15 },
        resources: resources("20m", "64Mi", "200m"),
        securityContext: containerSecurityContext(),
        volumeMounts: [
          { name: "config", mountPath: "/etc/alertmanager", readOnly: true },
          { name: "data", mountPath: "/alertmanager" },
        ],
      },
    ],
    volumes: [
      // The Secret's name changes with its content (auto-named), which rolls the pod.
      { name: "config", secret: { secretName: secret.metadata.name } },
      { name: "data", emptyDir: { sizeLimit: "256Mi" } },
    ],
  });
  s.service(app, ALERTMANAGER.port);
  s.allow(app, {
    ingress: [{ name: "prometheus", pods: selector, peer: { pods: s.selector(PROMETHEUS.app) }, ports: [ALERTMANAGER.port] }],
    // The webhook lives outside the cluster at an address only known at run time: open its port only
    // (the port number is not secret, the URL is). Without a webhook Alertmanager sends nothing.
    egress: webhook ? [{ name: "webhook", pods: selector, peer: { cidr: ANYWHERE }, ports: [pulumi.unsecret(webhook.apply(webhookPort))] }] : [],
  });
  return { url: pulumi.interpolate`http://${objName}.${s.namespace}.svc:${ALERTMANAGER.port}` };
}
