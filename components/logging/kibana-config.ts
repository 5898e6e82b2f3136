/**
 * Kibana's configuration and its data view: kibana.yml and the files of the data-view Job.
 */
import * as yaml from "js-yaml";
import { DATA_VIEW, ES_USERS, namespaceIndexPattern } from "./elasticsearch-config";
import { KIBANA } from "./peers";

/**
 * The script of the Kibana data-view Job (curl image): waits for Kibana, then
 * creates the log data view with a fixed id (`override` makes a rerun replace
 * it rather than fail) and makes it the default. Env: KIBANA_URL, ELASTIC_PASSWORD.
 */
export function dataViewScript(): string {
  return `#!/bin/sh
set -eu
kb() { # kb PATH FILE
  curl -fsS --retry 10 --retry-all-errors --retry-delay 5 -u "elastic:\${ELASTIC_PASSWORD}" \\
    -X POST -H "kbn-xsrf: shop" -H "Content-Type: application/json" --data-binary "@$2" "\${KIBANA_URL}$1"
  echo
}
echo "waiting for Kibana at \${KIBANA_URL}"
until curl -fsS -o /dev/null -u "elastic:\${ELASTIC_PASSWORD}" "\${KIBANA_URL}/api/status"; do
  sleep 5
done
kb /api/data_views/data_view /config/data-view.json
kb /api/data_views/default /config/default-data-view.json
echo "data view ${DATA_VIEW.id} ready"
`;
}

/** The files of the data-view ConfigMap: the data view covers the shop namespace's indices. */
export function dataViewFiles(shopNamespace: string): Record<string, string> {
  return {
    "data-view.sh": dataViewScript(),
    "data-view.json": JSON.stringify({
      data_view: { id: DATA_VIEW.id, title: namespaceIndexPattern(shopNamespace), name: DATA_VIEW.name, timeFieldName: "@timestamp" },
      override: true,
    }),
    "default-data-view.json": JSON.stringify({ data_view_id: DATA_VIEW.id, force: true }),
  };
}

/** kibana.yml: served under `basePath`, connected as kibana_system, no phoning home. Env: KIBANA_PASSWORD, KIBANA_ENCRYPTION_KEY. */
export function kibanaYml(input: { elasticsearchUrl: string; basePath: string; publicBaseUrl?: string }): string {
  return yaml.dump(
    {
      "server.host": "0.0.0.0",
      "server.port": KIBANA.port,
      "server.name": "kibana",
      "server.basePath": input.basePath,
      "server.rewriteBasePath": true,
      ...(input.publicBaseUrl ? { "server.publicBaseUrl": input.publicBaseUrl } : {}),
      "elasticsearch.hosts": [input.elasticsearchUrl],
      "elasticsearch.username": ES_USERS.kibana,
      "elasticsearch.password": "${KIBANA_PASSWORD}",
      "path.data": "/usr/share/kibana/data",
      // The probes read /api/status; anonymous callers only see the overall level.
      "status.allowAnonymous": true,
      "xpack.encryptedSavedObjects.encryptionKey": "${KIBANA_ENCRYPTION_KEY}",
      "xpack.security.encryptionKey": "${KIBANA_ENCRYPTION_KEY}",
      "xpack.reporting.encryptionKey": "${KIBANA_ENCRYPTION_KEY}",
      "telemetry.optIn": false,
      "telemetry.allowChangingOptInStatus": false,
      "newsfeed.enabled": false,
    },
    { lineWidth: 200 },
  );
}

