/**
 * Grafana provisioning files (datasources, dashboard provider) as typed data.
 * Credentials never appear here: Grafana expands `$__env{...}` from its
 * environment, which the component fills from a Secret.
 */
import { DATASOURCE_UIDS } from "./dashboards";
import { INDEX_PREFIX } from "../logging/elasticsearch-config";

/** Environment variables Grafana reads the Elasticsearch reader credentials from. */
export const GRAFANA_ES_ENV = { user: "SHOP_ES_USERNAME", password: "SHOP_ES_PASSWORD" } as const;

/** Directory the dashboards ConfigMap is mounted at. */
export const DASHBOARDS_DIR = "/etc/grafana/dashboards/shop";

interface Datasource {
  name: string;
  type: "prometheus" | "elasticsearch";
  uid: string;
  access: "proxy";
  url: string;
  isDefault: boolean;
  editable: boolean;
  basicAuth?: boolean;
  basicAuthUser?: string;
  jsonData: Record<string, unknown>;
  secureJsonData?: Record<string, string>;
}

/** The datasources provisioning file: Prometheus always, Elasticsearch when logging is on. */
export function datasources(prometheusUrl: string, elasticsearchUrl?: string): { apiVersion: 1; datasources: Datasource[] } {
  const list: Datasource[] = [
    {
      name: "Prometheus",
      type: "prometheus",
      uid: DATASOURCE_UIDS.prometheus,
      access: "proxy",
      url: prometheusUrl,
      isDefault: true,
      editable: false,
      jsonData: { timeInterval: "30s", httpMethod: "POST" },
    },
  ];
  if (elasticsearchUrl) {
    list.push({
      name: "Elasticsearch",
      type: "elasticsearch",
      uid: DATASOURCE_UIDS.elasticsearch,
      access: "proxy",
      url: elasticsearchUrl,
      isDefault: false,
      editable: false,
      basicAuth: true,
      basicAuthUser: `$__env{${GRAFANA_ES_ENV.user}}`,
      jsonData: { index: `${INDEX_PREFIX}*`, timeField: "@timestamp", logMessageField: "msg", logLevelField: "level" },
      secureJsonData: { basicAuthPassword: `$__env{${GRAFANA_ES_ENV.password}}` },
    });
  }
  return { apiVersion: 1, datasources: list };
}

/** The dashboard provider file: the shop's dashboards, read-only, in their own folder. */
export function dashboardProvider() {
  return {
    apiVersion: 1,
    providers: [
      {
        name: "shop",
        folder: "Shop",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        updateIntervalSeconds: 60,
        options: { path: DASHBOARDS_DIR, foldersFromFilesStructure: false },
      },
    ],
  };
}
