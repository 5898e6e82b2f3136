import * as assert from "assert";
import { BUDGET_ORDER, budgetEnv, checkBudgets, REQUEST_BUDGETS } from "../../components/request-budgets";

const secs = (d: string) => Number(/^(\d+)s$/.exec(d)![1]);

describe("request budgets", () => {
  it("are strictly ordered edge > gateway upstream > service request > service call", () => {
    for (let i = 1; i < BUDGET_ORDER.length; i++) {
      assert.ok(REQUEST_BUDGETS[BUDGET_ORDER[i - 1]] > REQUEST_BUDGETS[BUDGET_ORDER[i]], `${BUDGET_ORDER[i - 1]} <= ${BUDGET_ORDER[i]}`);
    }
    assert.deepStrictEqual([...BUDGET_ORDER], ["edge", "gatewayUpstream", "serviceRequest", "serviceCall"]);
  });

  it("refuses budgets out of order, naming both layers", () => {
    assert.throws(() => checkBudgets({ edge: 15, gatewayUpstream: 5, serviceRequest: 8, serviceCall: 3 }), /gatewayUpstream \(5s\) must be larger than serviceRequest \(8s\)/);
    assert.throws(() => checkBudgets({ edge: 10, gatewayUpstream: 10, serviceRequest: 8, serviceCall: 3 }), /edge \(10s\) must be larger than gatewayUpstream/);
    assert.throws(() => checkBudgets({ edge: 15, gatewayUpstream: 10, serviceRequest: 5, serviceCall: 5 }), /serviceRequest \(5s\) must be larger than serviceCall/);
    assert.throws(() => checkBudgets({ edge: 15, gatewayUpstream: 10, serviceRequest: 8, serviceCall: 0.5 }), /serviceCall must be a whole number/);
  });

  it("feeds each binary the env its Go loader reads, in the same order", () => {
    const gw = budgetEnv("gateway");
    const order = budgetEnv("order");
    assert.deepStrictEqual(Object.keys(gw), ["UPSTREAM_TIMEOUT"]);
    assert.deepStrictEqual(Object.keys(order).sort(), ["PRODUCT_TIMEOUT", "REQUEST_TIMEOUT"]);
    assert.deepStrictEqual(budgetEnv("user"), { REQUEST_TIMEOUT: order.REQUEST_TIMEOUT });
    assert.deepStrictEqual(budgetEnv("product"), { REQUEST_TIMEOUT: order.REQUEST_TIMEOUT });
    assert.ok(REQUEST_BUDGETS.edge > secs(gw.UPSTREAM_TIMEOUT));
    assert.ok(secs(gw.UPSTREAM_TIMEOUT) > secs(order.REQUEST_TIMEOUT));
    assert.ok(secs(order.REQUEST_TIMEOUT) > secs(order.PRODUCT_TIMEOUT));
  });
});
