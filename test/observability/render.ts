/**
 * Renders the generated Prometheus configuration, rules and Alertmanager
 * configurations to a directory, exactly as the components serialise them, so
 * `promtool` and `amtool` can check them (scripts/check-observability.sh).
 *
 *   ts-node test/observability/render.ts <out-dir>
 *
 * Layout of <out-dir>:
 *   prometheus/prometheus.yml        rule_files -> rules/*.yml
 *   prometheus/rules/shop.yml, prometheus/rules/logging.yml
 *   prometheus/serviceaccount/{token,ca.crt}   placeholders for the file checks
 *   alertmanager/webhook.yml         with a webhook receiver
 *   alertmanager/none.yml            without one
 *   grafana/dashboards/*.json, grafana/datasources.yaml
 *   grafana/queries.rules.yml        every dashboard query as a recording rule, so promtool parses the PromQL
 *   fluent-bit/*, elasticsearch/*, kibana/kibana.yml   for reading
 */
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { elasticsearchSetupFiles, elasticsearchYml } from "../../components/logging/elasticsearch-config";
import { dataViewFiles, kibanaYml } from "../../components/logging/kibana-config";
import { fluentBitConfig } from "../../components/logging/pipeline";
import { transportCertScript } from "../../components/logging/transport-tls";
import { alertmanagerConfig } from "../../components/monitoring/alertmanager-config";
import { allDashboards } from "../../components/monitoring/dashboards";
import { dashboardProvider, datasources } from "../../components/monitoring/grafana-config";
import { prometheusConfig } from "../../components/monitoring/prometheus-config";
import { logPipelineRules, shopAlertRules } from "../../components/monitoring/rules";

/** The fixture the promtool unit tests (test/observability/rules.test.yml) are written against. */
export const FIXTURE = {
  services: ["gateway", "user", "product", "order"],
  shopNamespace: "shop",
  namespace: "observability",
  webhookUrl: "https://hooks.example.com/alerts",
} as const;

const dump = (v: unknown) => yaml.dump(v, { lineWidth: 200, noRefs: true });

/** Writes every rendered file under `outDir`; returns the paths written. */
export function renderAll(outDir: string): string[] {
  const written: string[] = [];
  const write = (rel: string, content: string) => {
    const file = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    written.push(file);
  };
  const services = [...FIXTURE.services];
  const saDir = path.join(outDir, "prometheus", "serviceaccount");
  write("prometheus/serviceaccount/token", "placeholder-token\n");
  write("prometheus/serviceaccount/ca.crt", "");
  write(
    "prometheus/prometheus.yml",
    dump(
      prometheusConfig({
        shopNamespace: FIXTURE.shopNamespace,
        namespace: FIXTURE.namespace,
        alertmanager: `monitoring-alertmanager.${FIXTURE.namespace}.svc:9093`,
        kubeStateMetrics: `monitoring-kube-state-metrics.${FIXTURE.namespace}.svc:8080`,
        rulesDir: "rules",
        cluster: "check",
        serviceAccountDir: saDir,
      }),
    ),
  );
  write("prometheus/rules/shop.yml", dump(shopAlertRules({ services, shopNamespace: FIXTURE.shopNamespace })));
  write("prometheus/rules/logging.yml", dump(logPipelineRules({ namespace: FIXTURE.namespace })));
  write("alertmanager/webhook.yml", dump(alertmanagerConfig(FIXTURE.webhookUrl)));
  write("alertmanager/none.yml", dump(alertmanagerConfig()));
  for (const [file, d] of Object.entries(allDashboards(services, FIXTURE.shopNamespace))) {
    write(`grafana/dashboards/${file}`, JSON.stringify(d, null, 1));
  }
  // Dashboard queries as recording rules: `promtool check rules` then parses every one of them.
  // Grafana's `$__rate_interval` is replaced by the window Grafana would pick at a 30s scrape interval.
  const queries = Object.values(allDashboards(services, FIXTURE.shopNamespace)).flatMap((d) =>
    d.panels.flatMap((p) => p.targets.map((t) => ({ dashboard: d.uid, panel: p.title, expr: t.expr.replace(/\$__rate_interval/g, "2m") }))),
  );
  write(
    "grafana/queries.rules.yml",
    dump({
      groups: [
        {
          name: "dashboard-queries",
          rules: queries.map((q, i) => ({ record: `dashboard_query_${i + 1}`, expr: q.expr, labels: { dashboard: q.dashboard } })),
        },
      ],
    }),
  );
  write("grafana/datasources.yaml", dump(datasources("http://prometheus:9090", "http://elasticsearch:9200")));
  write("grafana/dashboards.yaml", dump(dashboardProvider()));
  for (const [file, content] of Object.entries(fluentBitConfig({ elasticsearchHost: "elasticsearch" }))) write(`fluent-bit/${file}`, content);
  write("elasticsearch/elasticsearch.yml", elasticsearchYml({ clusterName: "logs", replicas: 3, statefulSet: "es", headlessService: "es-headless" }));
  write("elasticsearch/transport-cert.sh", transportCertScript());
  for (const [file, content] of Object.entries({ ...elasticsearchSetupFiles(7, 3), ...dataViewFiles(FIXTURE.shopNamespace) })) write(`elasticsearch/${file}`, content);
  write("kibana/kibana.yml", kibanaYml({ elasticsearchUrl: "http://elasticsearch:9200", basePath: "/kibana", publicBaseUrl: "http://shop.localhost/kibana" }));
  return written;
}

if (require.main === module) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: render.ts <out-dir>");
    process.exit(2);
  }
  for (const f of renderAll(path.resolve(out))) console.log(f);
}
