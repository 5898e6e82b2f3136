import * as h from "./harness";
import * as assert from "assert";
import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import "../../config"; // loads the kit and the config schema in their usual order
import { Monitoring } from "../../components/monitoring";
import { get, monitoringArgs, T } from "../observability/helpers";

/** The pod-template labels an observability workload was first deployed with (no `component` label). */
const firstDeployed = (app: string, instance: string) => ({
  "app.kubernetes.io/name": app,
  "app.kubernetes.io/instance": instance,
  "app.kubernetes.io/part-of": "shop-observability",
  "app.kubernetes.io/managed-by": "pulumi",
});
/** The checksum annotation's first format: sha256 of each file followed by a NUL, 16 hex digits. */
function firstChecksum(...files: string[]): string {
  const hash = crypto.createHash("sha256");
  for (const f of files) hash.update(f).update("\0");
  return hash.digest("hex").slice(0, 16);
}

describe("observability pods of a stack deployed before the one-kit redesign", () => {
  before(async () => {
    await h.reset("dev");
    const provider = new k8s.Provider("test-k8s", {});
    new Monitoring("mon", monitoringArgs(provider));
    await h.settle();
  });

  it("keep their pod-template labels (part-of shop-observability, no component label), so they do not roll", () => {
    assert.deepStrictEqual(get(T.statefulSet, "mon-prometheus").spec.template.metadata.labels, firstDeployed("prometheus", "mon"));
    assert.deepStrictEqual(get(T.deployment, "mon-grafana").spec.template.metadata.labels, firstDeployed("grafana", "mon"));
    assert.deepStrictEqual(get(T.deployment, "mon-alertmanager").spec.template.metadata.labels, firstDeployed("alertmanager", "mon"));
    assert.deepStrictEqual(get(T.deployment, "mon-grafana").metadata.labels, firstDeployed("grafana", "mon"));
  });

  it("keep the checksum annotation's format over the same files", () => {
    const prom = get(T.configMap, "mon-prometheus").data;
    const rules = get(T.configMap, "mon-prometheus-rules").data;
    assert.strictEqual(
      get(T.statefulSet, "mon-prometheus").spec.template.metadata.annotations["shop.io/config-checksum"],
      firstChecksum(prom["prometheus.yml"], rules["shop.yml"], rules["logging.yml"]),
    );
    // Grafana's covers its datasources and dashboards (key order of the dashboards map is the component's).
    assert.match(get(T.deployment, "mon-grafana").spec.template.metadata.annotations["shop.io/config-checksum"], /^[0-9a-f]{16}$/);
  });
});
