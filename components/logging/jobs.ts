/** The one-off setup Jobs of the logging stack: a curl container running a script from a ConfigMap. */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { containerSecurityContext, podSecurityContext, resources, WorkloadScope } from "../kit";
import { IMAGES } from "./images";

/** A Job gives up after this long (the cluster may still be pulling images). */
export const JOB_DEADLINE_SECONDS = 1800;
/** uid of the curl image's user. */
const CURL_UID = 100;

/**
 * A Job `<name>-<app>` that runs `/config/<script>` of `files` with `env`, after `dependsOn`. Auto-named,
 * so a changed ConfigMap (new name) gives a new pod template and Pulumi replaces (reruns) the Job.
 * It runs where workload `placedWith` (the one it sets up) is placed.
 */
export function curlJob(
  s: WorkloadScope,
  app: string,
  placedWith: string,
  files: k8s.core.v1.ConfigMap,
  script: string,
  env: k8s.types.input.core.v1.EnvVar[],
  dependsOn: pulumi.Resource[],
): k8s.batch.v1.Job {
  return new k8s.batch.v1.Job(
    `${s.name}-${app}`,
    {
      metadata: s.meta(app),
      spec: {
        backoffLimit: 6,
        activeDeadlineSeconds: JOB_DEADLINE_SECONDS,
        template: {
          metadata: { labels: s.labels(app) },
          spec: {
            ...s.placement(placedWith),
            restartPolicy: "OnFailure",
            automountServiceAccountToken: false,
            securityContext: podSecurityContext(CURL_UID, CURL_UID),
            containers: [
              {
                name: app,
                image: s.image("curl", IMAGES.curl),
                command: ["sh", `/config/${script}`],
                env,
                resources: resources("10m", "32Mi", "100m"),
                securityContext: containerSecurityContext(),
                volumeMounts: [
                  { name: "config", mountPath: "/config", readOnly: true },
                  { name: "tmp", mountPath: "/tmp" },
                ],
              },
            ],
            volumes: [
              { name: "config", configMap: { name: files.metadata.name } },
              { name: "tmp", emptyDir: { sizeLimit: "16Mi", medium: "Memory" } },
            ],
          },
        },
      },
    },
    { ...s.opts, dependsOn },
  );
}
