/**
 * ClusterPrerequisites: checks, at preview and `up` before anything changes, what the program needs of the
 * cluster and can ask its API server (docs/cluster-prerequisites.md lists the rest):
 * - Kubernetes >= 1.30 (the services' preStop `sleep` hook);
 * - in `gateway` routing mode: the Gateway API (its standard-channel CRDs) and, when the program creates
 *   the Gateway, its GatewayClass (without an implementation behind it the routes are never served);
 * - in `ingress` routing mode with a class named: that IngressClass.
 * A dynamic resource whose provider's `check` asks the API server (the engine runs it in
 * `pulumi-resource-pulumi-nodejs`); the platform's parts take {@link guardedBy} of it, so a failure
 * stops them before they are registered. Under unit-test mocks the engine runs no `check`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import * as pulumi from "@pulumi/pulumi";

/** How to reach and authenticate to the API server; file paths are read by the provider, never stored. */
export interface ClusterEndpoint {
  server: string;
  caFile?: string;
  caData?: string;
  certFile?: string;
  certData?: string;
  keyFile?: string;
  keyData?: string;
  token?: string;
  tokenFile?: string;
  insecure?: boolean;
  exec?: { command: string; args: string[]; env: Record<string, string> };
}

/** What the cluster must provide. */
export interface Requirements {
  /** Lowest Kubernetes minor version (1.x). */
  minMinor: number;
  /** The IngressClass the Ingress names (ingress mode, when a class is named). */
  ingressClass?: string;
  /** The Gateway API must be served (gateway mode). */
  gatewayApi?: boolean;
  /** The GatewayClass of the Gateway the program creates (gateway mode, owned Gateway). */
  gatewayClass?: string;
}

const b64 = (s: unknown) => (typeof s === "string" ? Buffer.from(s, "base64").toString("utf8") : undefined);

/**
 * The endpoint of `context` (default: the current context) in a kubeconfig, or a string saying why the
 * kubeconfig cannot be used for the check (e.g. a legacy auth-provider).
 */
export function endpointFromKubeconfig(text: string, context: string | undefined, baseDir: string): ClusterEndpoint | string {
  const doc = (yaml.load(text) as any) ?? {};
  const ctxName = context ?? doc["current-context"];
  const ctx = (doc.contexts ?? []).find((c: any) => c?.name === ctxName)?.context;
  if (!ctx) return `context ${JSON.stringify(ctxName)} is not in the kubeconfig`;
  const cluster = (doc.clusters ?? []).find((c: any) => c?.name === ctx.cluster)?.cluster;
  if (!cluster?.server) return `cluster ${JSON.stringify(ctx.cluster)} of context ${JSON.stringify(ctxName)} has no server`;
  const user = (doc.users ?? []).find((u: any) => u?.name === ctx.user)?.user ?? {};
  if (user["auth-provider"]) return "the kubeconfig uses a legacy auth-provider";
  const file = (f: unknown) => (typeof f === "string" ? path.resolve(baseDir, f) : undefined);
  const e: ClusterEndpoint = { server: String(cluster.server) };
  const set = (k: keyof ClusterEndpoint, v: unknown) => { if (v !== undefined) (e as any)[k] = v; };
  set("caFile", file(cluster["certificate-authority"]));
  set("caData", b64(cluster["certificate-authority-data"]));
  set("insecure", cluster["insecure-skip-tls-verify"] === true ? true : undefined);
  set("certFile", file(user["client-certificate"]));
  set("certData", b64(user["client-certificate-data"]));
  set("keyFile", file(user["client-key"]));
  set("keyData", b64(user["client-key-data"]));
  set("token", typeof user.token === "string" ? user.token : undefined);
  set("tokenFile", file(user.tokenFile));
  if (user.exec?.command) {
    const env: Record<string, string> = {};
    for (const v of user.exec.env ?? []) if (v?.name) env[v.name] = String(v.value ?? "");
    e.exec = { command: String(user.exec.command), args: (user.exec.args ?? []).map(String), env };
  }
  return e;
}

/**
 * The dynamic provider. Self-contained (the SDK serialises it): only Node's built-in modules.
 * Inputs: `endpoint` (JSON of a ClusterEndpoint, or "" to skip), `minMinor`, `ingressClass`, `gatewayApi`, `gatewayClass`.
 */
export const prerequisitesProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: any, news: any) {
    if (!news.endpoint) return { inputs: news };
    const fs = require("fs");
    const https = require("https");
    const http = require("http");
    const { execFileSync } = require("child_process");
    const e = JSON.parse(news.endpoint);
    const read = (f?: string) => (f ? fs.readFileSync(f, "utf8") : undefined);
    let token: string | undefined = e.token ?? (e.tokenFile ? read(e.tokenFile).trim() : undefined);
    let cert = e.certData ?? read(e.certFile);
    let key = e.keyData ?? read(e.keyFile);
    if (e.exec) {
      const out = execFileSync(e.exec.command, e.exec.args, { env: { ...process.env, ...e.exec.env }, encoding: "utf8", timeout: 60_000 });
      const status = JSON.parse(out).status ?? {};
      token = status.token ?? token;
      cert = status.clientCertificateData ?? cert;
      key = status.clientKeyData ?? key;
    }
    const url = new URL(e.server);
    const get = (p: string) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const lib = url.protocol === "http:" ? http : https;
        const req = lib.request(
          {
            hostname: url.hostname, port: url.port || undefined, path: url.pathname.replace(/\/$/, "") + p, method: "GET",
            ca: e.caData ?? read(e.caFile), cert, key, rejectUnauthorized: !e.insecure,
            headers: { Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) }, timeout: 20_000,
          },
          (res: any) => {
            let text = "";
            res.on("data", (d: any) => (text += d));
            res.on("end", () => {
              let body: any = text;
              try { body = JSON.parse(text); } catch { /* not JSON */ }
              resolve({ status: res.statusCode, body });
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error(`no answer from ${e.server} within 20s`)));
        req.on("error", reject);
        req.end();
      });
    const failures: { property: string; reason: string }[] = [];
    const fail = (reason: string) => failures.push({ property: "", reason: `the cluster at ${e.server} does not meet the shop's prerequisites (docs/cluster-prerequisites.md): ${reason}` });
    let version;
    try {
      version = await get("/version");
    } catch (err: any) {
      fail(`cannot reach its API server: ${err?.message ?? err}`);
      return { inputs: news, failures };
    }
    if (version.status === 200) {
      const minor = parseInt(String(version.body.minor ?? ""), 10);
      const major = parseInt(String(version.body.major ?? ""), 10);
      if (major === 1 && minor < news.minMinor) {
        fail(`Kubernetes ${version.body.gitVersion ?? `1.${minor}`} is older than 1.${news.minMinor} (the services' preStop sleep hook needs it); upgrade the cluster`);
      }
    } else if (version.status !== 401 && version.status !== 403) {
      fail(`GET /version answered ${version.status}`);
    }
    if (news.ingressClass) {
      const ic = await get(`/apis/networking.k8s.io/v1/ingressclasses/${encodeURIComponent(news.ingressClass)}`);
      if (ic.status === 404) {
        fail(`it has no IngressClass ${JSON.stringify(news.ingressClass)} (shop:routing.ingress.className): install an ingress controller that provides it, or name the cluster's class (kubectl get ingressclass)`);
      }
    }
    if (news.gatewayApi) {
      const api = await get("/apis/gateway.networking.k8s.io/v1");
      const kinds = api.status === 200 ? (api.body?.resources ?? []).map((r: any) => r?.name) : [];
      if (api.status === 404 || (api.status === 200 && !kinds.includes("httproutes"))) {
        fail("it does not serve the Gateway API (gateway.networking.k8s.io/v1 httproutes): install the standard-channel CRDs of sigs.k8s.io/gateway-api and an implementation, or set shop:routing.mode to ingress");
      }
    }
    if (news.gatewayClass) {
      const gc = await get(`/apis/gateway.networking.k8s.io/v1/gatewayclasses/${encodeURIComponent(news.gatewayClass)}`);
      if (gc.status === 404) {
        fail(`it has no GatewayClass ${JSON.stringify(news.gatewayClass)} (shop:routing.gateway.className): install a Gateway API implementation that provides it, or name the cluster's class (kubectl get gatewayclass)`);
      }
    }
    return { inputs: news, failures };
  },
  // The check is the point; nothing to reconcile (credentials from an exec plugin change every run).
  async diff() {
    return { changes: false };
  },
  async create(inputs: any) {
    return { id: "prerequisites", outs: inputs };
  },
  async update(_id: string, _olds: any, news: any) {
    return { outs: news };
  },
};

/** Arguments of {@link ClusterPrerequisites}. */
export interface ClusterPrerequisitesArgs extends Requirements {
  /** kubeconfig contents (secret); absent: the ambient KUBECONFIG (or ~/.kube/config), as the provider uses it. */
  kubeconfig?: pulumi.Output<string>;
  /** The context to use. @default the kubeconfig's current context */
  context?: string;
}

/** The ambient kubeconfig: the first file of KUBECONFIG, or ~/.kube/config; undefined when there is none. */
function ambientKubeconfig(): { text: string; dir: string } | undefined {
  const file = (process.env.KUBECONFIG ?? "").split(path.delimiter).find((f) => f) ?? path.join(os.homedir(), ".kube", "config");
  return fs.existsSync(file) ? { text: fs.readFileSync(file, "utf8"), dir: path.dirname(file) } : undefined;
}

/** Checks the cluster's prerequisites on every preview and `up`. */
export class ClusterPrerequisites extends pulumi.dynamic.Resource {
  constructor(name: string, args: ClusterPrerequisitesArgs, opts?: pulumi.CustomResourceOptions) {
    const resolve = (text: string, dir: string): string => {
      const e = endpointFromKubeconfig(text, args.context, dir);
      if (typeof e === "string") {
        pulumi.log.warn(`cluster prerequisites not checked: ${e}`);
        return "";
      }
      return JSON.stringify(e);
    };
    let endpoint: pulumi.Output<string>;
    if (args.kubeconfig) {
      endpoint = pulumi.secret(args.kubeconfig.apply((k) => resolve(k, process.cwd())));
    } else {
      const ambient = ambientKubeconfig();
      endpoint = pulumi.secret(pulumi.output(ambient ? resolve(ambient.text, ambient.dir) : ""));
    }
    const inputs = {
      endpoint,
      minMinor: args.minMinor,
      ...(args.ingressClass ? { ingressClass: args.ingressClass } : {}),
      ...(args.gatewayApi ? { gatewayApi: true } : {}),
      ...(args.gatewayClass ? { gatewayClass: args.gatewayClass } : {}),
    };
    super(prerequisitesProvider, name, inputs, opts, "shop", "ClusterPrerequisites");
  }
}
