/**
 * The monitoring workloads as NetworkPolicy peers: their pod labels and ports, defined once and
 * imported wherever another workload (Logging's included) names them.
 */
import { peer } from "../kit";

export const PROMETHEUS = peer("prometheus", 9090);
export const ALERTMANAGER = peer("alertmanager", 9093);
export const GRAFANA = peer("grafana", 3000);
export const KUBE_STATE_METRICS = peer("kube-state-metrics", 8080);
/** kube-state-metrics' own metrics (probes only). */
export const KSM_TELEMETRY_PORT = 8081;
/** Each kubelet's port (cAdvisor metrics). */
export const KUBELET_PORT = 10250;
/** uid of the Prometheus, Alertmanager and kube-state-metrics images (`nobody`). */
export const NOBODY = 65534;
