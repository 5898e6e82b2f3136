/**
 * The one list of the shop's services: the Go binaries built from `services/cmd/<binary>` and what
 * each needs (data stores, the services it calls, JWTs, default env). Everything else reads it:
 * the config schema (`shop:services.<name>.binary`), the platform (NetworkPolicies, env, stores),
 * the image build (`scripts/images.sh` runs this file: `catalog.ts binaries`) and a unit test that
 * checks `services/cmd/` holds exactly these binaries.
 *
 * This file imports nothing at run time, so the scripts can read it without loading the program.
 */
import type { StoreKind } from "./components/data-stores";

/** The Go binaries built from `services/cmd/<binary>`; each needs an image. */
export const BINARIES = ["gateway", "user", "product", "order"] as const;
export type Binary = (typeof BINARIES)[number];

/** The port every shop binary listens on (`HTTP_ADDR`), and its Service's port. */
export const HTTP_PORT = 8080;

/** What each binary needs: data stores, the services it calls, whether it signs/reads JWTs, default env. */
export interface BinarySpec {
  stores: readonly StoreKind[];
  calls: readonly Binary[];
  jwt: boolean;
  env: Record<string, string>;
}

const url = (svc: Binary) => `http://${svc}:${HTTP_PORT}`;

export const CATALOG: Record<Binary, BinarySpec> = {
  gateway: {
    stores: [],
    calls: ["user", "product", "order"],
    jwt: true,
    env: { USER_URL: url("user"), PRODUCT_URL: url("product"), ORDER_URL: url("order"), RATE_LIMIT_RPS: "50", RATE_LIMIT_BURST: "100" },
  },
  user: { stores: ["mysql"], calls: [], jwt: true, env: { JWT_TTL: "1h" } },
  product: { stores: ["mysql", "redis"], calls: [], jwt: false, env: { CACHE_TTL: "60s" } },
  order: { stores: ["mysql", "rabbitmq"], calls: ["product"], jwt: false, env: { PRODUCT_URL: url("product") } },
};

// `catalog.ts binaries`: one binary a line, for the scripts (scripts/images.sh builds one image each).
if (require.main === module) {
  const [what] = process.argv.slice(2);
  if (what !== "binaries") {
    process.stderr.write(`usage: catalog.ts binaries\n`);
    process.exit(2);
  }
  process.stdout.write(BINARIES.join("\n") + "\n");
}
