/**
 * The shop's journey through the edge at 127.0.0.1: register, log in, add and list products, place an
 * order, read it back, and see its stock reserved. Used by the end-to-end suite and by
 * bench/local-stack.sh (`node -r ts-node/register test/e2e/journey.ts <host> [seconds]`).
 */
import * as assert from "assert";
import { edgeRequest, EdgeResponse, waitFor } from "./support";

/** Waits (bounded) until the edge serves the host's routes, then walks the journey; throws with what it saw. */
export async function runJourney(host: string, waitSeconds = 90): Promise<{ orderId: string; productId: number }> {
  const call = (method: string, p: string, body?: unknown, token?: string, headers: Record<string, string> = {}) =>
    edgeRequest(host, method, p, { body, headers: { ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) }, timeoutMs: 10000 });
  const expect = (r: EdgeResponse, status: number, what: string) =>
    assert.strictEqual(r.status, status, `${what}: ${r.status} ${r.body.slice(0, 300)}`);
  // The edge learns new routes from the API server, and new pods become endpoints when Ready.
  await waitFor(`GET http://${host}/api/products through the edge`, waitSeconds, async () => {
    const r = await call("GET", "/api/products");
    if (r.status !== 200) throw new Error(`${r.status} ${r.body.slice(0, 200)}`);
    return true;
  });
  const email = `journey-${Date.now()}-${process.pid}@example.com`;
  const password = "a-long-journey-9";
  expect(await call("POST", "/api/users/register", { email, password, name: "Journey" }), 201, "register");
  const login = await call("POST", "/api/users/login", { email, password });
  expect(login, 200, "log in");
  const token: string = login.json?.token;
  assert.ok(token, "login returned no token");
  const created = await call("POST", "/api/products", { name: "Journey mug", description: "e2e", price_cents: 1250, stock: 5 }, token);
  expect(created, 201, "add a product");
  const list = await call("GET", "/api/products?size=100");
  expect(list, 200, "list products");
  assert.ok(list.json.total >= 1 && list.json.items.length >= 1, `no product listed: ${list.body.slice(0, 300)}`);
  const order = await call("POST", "/api/orders", { items: [{ product_id: created.json.id, quantity: 2 }] }, token, { "Idempotency-Key": `journey-${Date.now()}` });
  expect(order, 201, "place an order");
  assert.strictEqual(order.json.total_cents, 2500);
  const back = await call("GET", `/api/orders/${order.json.id}`, undefined, token);
  expect(back, 200, "read the order back");
  assert.strictEqual(back.json.id, order.json.id);
  assert.deepStrictEqual(back.json.items.map((i: any) => [i.product_id, i.quantity]), [[created.json.id, 2]]);
  const product = await call("GET", `/api/products/${created.json.id}`);
  expect(product, 200, "read the product");
  assert.strictEqual(product.json.stock, 3, "the order did not reserve its stock");
  return { orderId: order.json.id, productId: created.json.id };
}

if (require.main === module) {
  const [host, seconds] = process.argv.slice(2);
  if (!host) {
    console.error("usage: journey.ts <host> [wait-seconds]");
    process.exit(2);
  }
  runJourney(host, Number(seconds ?? 90)).then(
    (r) => console.log(JSON.stringify(r)),
    (e) => { console.error(`journey through http://${host}: ${e.message}`); process.exit(1); },
  );
}
