/**
 * The logging workloads as NetworkPolicy peers: their pod labels and ports, defined once and
 * imported wherever another workload (Monitoring's included) names them.
 */
import { peer } from "../kit";

export const ELASTICSEARCH = peer("elasticsearch", 9200);
/** Node-to-node (transport) port of Elasticsearch. */
export const ES_TRANSPORT_PORT = 9300;
export const KIBANA = peer("kibana", 5601);
/** Fluent Bit's HTTP server: metrics (`/api/v1/metrics/prometheus`) and health. */
export const FLUENT_BIT = peer("fluent-bit", 2020);
export const FLUENT_BIT_PORT = FLUENT_BIT.port;
/** uid of the Elasticsearch and Kibana images. */
export const ELASTIC_UID = 1000;
