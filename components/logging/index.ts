/**
 * Logging: a thin composer of the logging workloads, each in its own file with its own
 * NetworkPolicies: `credentials.ts`, `transport-tls.ts`, `elasticsearch.ts`, `fluent-bit.ts`,
 * `kibana.ts`. What they run is rendered from typed data in `elasticsearch-config.ts`, `pipeline.ts`
 * and `kibana-config.ts`. Every child keeps this component as its parent.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { WorkloadOverrides, WorkloadScope } from "../kit";
import { createCredentials } from "./credentials";
import { ES_USERS } from "./elasticsearch-config";
import { createElasticsearch } from "./elasticsearch";
import { createFluentBit } from "./fluent-bit";
import { createKibana } from "./kibana";
import { createTransportTls } from "./transport-tls";

/**
 * Arguments of {@link Logging}. Values from the stack config arrive validated by `config/`
 * (replicas 1 or 3+, memory at least 1Gi, sizes, paths); the component checks only its own wiring.
 */
export interface LoggingArgs {
  /** The observability namespace (PSA privileged: Fluent Bit mounts host paths). */
  namespace: pulumi.Input<string>;
  /** The explicit Kubernetes provider every child uses. */
  provider: k8s.Provider;
  /** Namespace the shop's services run in: Kibana's data view covers its logs. */
  shopNamespace: pulumi.Input<string>;
  /** Elasticsearch nodes (`shop:logging.elasticsearch.replicas`): 1, or 3+ master-eligible data nodes. */
  replicas: number;
  /** Size of each Elasticsearch node's volume, e.g. `10Gi`. */
  storageSize: string;
  /** Storage class of the Elasticsearch volumes. */
  storageClass: string;
  /** Memory request and limit of each Elasticsearch node; the JVM heap is half of it. */
  memory: string;
  /** Days a log index is kept before the lifecycle policy deletes it. */
  retentionDays: number;
  /** Path Kibana is served under (`shop:logging.kibanaPath`), e.g. `/kibana`. */
  kibanaPath: string;
  /** Namespace of the edge (gateway / ingress controller) admitted to Kibana's port. */
  edgeNamespace: string;
  /** The public host Kibana's links (publicBaseUrl) are built on; empty for any host. @default "" */
  publicHost?: string;
  /** Scheme of the public URL. @default "http" */
  publicScheme?: "http" | "https";
  /** Password of the `elastic` superuser (secret). @default generated with `@pulumi/random` */
  elasticPassword?: pulumi.Input<string>;
  /** Disk budget of Fluent Bit's on-disk buffer per node. @default "2G" */
  fluentBitBufferLimit?: string;
  /** Memory request and limit of Kibana. @default "1Gi" */
  kibanaMemory?: string;
  /**
   * Image overrides (`elasticsearch`, `kibana`, `fluent-bit`, `curl` for the setup Jobs) and placements
   * (`elasticsearch`, `kibana`, `fluent-bit`; each setup Job follows the workload it sets up).
   * @default the pinned images of `images.ts`, no placement (Fluent Bit on every node)
   */
  workloads?: WorkloadOverrides;
}

/**
 * Searchable logs for the cluster: Elasticsearch (security on, transport TLS, index lifecycle deletion
 * after the retention), Fluent Bit on every node (tails container logs, adds Kubernetes metadata,
 * parses the services' JSON lines, ships to one index family per namespace, buffers on disk), and
 * Kibana with a data view over the shop's logs. Creates no route: the routing component serves
 * {@link kibanaBackend} under `kibanaPath`.
 */
export class Logging extends pulumi.ComponentResource {
  /** In-cluster URL of Elasticsearch. */
  readonly elasticsearchUrl: pulumi.Output<string>;
  /** External URL of Kibana, e.g. `http://shop.localhost/kibana/`. */
  readonly kibanaUrl: pulumi.Output<string>;
  /** The Service and port a route to Kibana points at. */
  readonly kibanaBackend: { serviceName: pulumi.Output<string>; port: number };
  /** Password of the `elastic` superuser (secret). */
  readonly elasticPassword: pulumi.Output<string>;
  /** Read-only user for the log indices (Grafana's Elasticsearch datasource). */
  readonly readerUsername: pulumi.Output<string>;
  /** Its password (secret). */
  readonly readerPassword: pulumi.Output<string>;

  constructor(name: string, args: LoggingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("shop:platform:Logging", name, {}, opts);
    const s = new WorkloadScope(name, "logging", this, args.provider, pulumi.output(args.namespace), args.workloads ?? {});
    const publicBaseUrl = args.publicHost ? `${args.publicScheme ?? "http"}://${args.publicHost}${args.kibanaPath}` : undefined;

    const credentials = createCredentials(s, args.elasticPassword);
    const transport = createTransportTls(s);
    const es = createElasticsearch(s, {
      replicas: args.replicas,
      memory: args.memory,
      storageSize: args.storageSize,
      storageClass: args.storageClass,
      retentionDays: args.retentionDays,
      credentials,
      transport,
    });
    createFluentBit(s, { credentials, bufferLimit: args.fluentBitBufferLimit ?? "2G", after: es.ready });
    const kibana = createKibana(s, {
      elasticsearchUrl: es.url,
      shopNamespace: pulumi.output(args.shopNamespace),
      path: args.kibanaPath,
      publicBaseUrl,
      memory: args.kibanaMemory ?? "1Gi",
      edgeNamespace: args.edgeNamespace,
      credentials,
      after: es.ready,
    });

    this.elasticsearchUrl = es.url;
    this.kibanaUrl = pulumi.output(publicBaseUrl ? `${publicBaseUrl}/` : `${args.kibanaPath}/`);
    this.kibanaBackend = kibana.backend;
    this.elasticPassword = credentials.elasticPassword;
    this.readerUsername = pulumi.output(ES_USERS.reader);
    this.readerPassword = credentials.readerPassword;
    this.registerOutputs({
      elasticsearchUrl: this.elasticsearchUrl,
      kibanaUrl: this.kibanaUrl,
      kibanaBackend: this.kibanaBackend,
      elasticPassword: this.elasticPassword,
      readerUsername: this.readerUsername,
      readerPassword: this.readerPassword,
    });
  }
}
