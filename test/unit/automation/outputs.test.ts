import { strict as assert } from "assert";
import { UsageError } from "../../../automation/errors";
import { outputsText, SECRET_PLACEHOLDER, StackOutputs } from "../../../automation/outputs";

const outputs: StackOutputs = {
  apiUrl: { value: "http://shop.localhost/api", secret: false },
  namespace: { value: "shop-local", secret: false },
  endpoints: { value: { mysql: "mysql.shop-local.svc:3306" }, secret: false },
  replicas: { value: 2, secret: false },
  grafanaAdminPassword: { value: "s3cret-value", secret: true },
};

describe("outputs <stack> [name] [--json]", () => {
  it("prints every output as one JSON object, keys sorted, secrets as [secret]", () => {
    const text = outputsText("local", outputs);
    assert.deepEqual(JSON.parse(text), {
      apiUrl: "http://shop.localhost/api",
      endpoints: { mysql: "mysql.shop-local.svc:3306" },
      grafanaAdminPassword: SECRET_PLACEHOLDER,
      namespace: "shop-local",
      replicas: 2,
    });
    assert.deepEqual(Object.keys(JSON.parse(text)), ["apiUrl", "endpoints", "grafanaAdminPassword", "namespace", "replicas"]);
    assert.ok(!text.includes("s3cret-value"), "a secret value was printed");
  });

  it("prints one string output as it is, for $(...) in scripts", () => {
    assert.equal(outputsText("local", outputs, "apiUrl"), "http://shop.localhost/api");
    assert.equal(outputsText("local", outputs, "namespace"), "shop-local");
  });

  it("prints one non-string output as JSON, and with --json a string quoted", () => {
    assert.deepEqual(JSON.parse(outputsText("local", outputs, "endpoints")), { mysql: "mysql.shop-local.svc:3306" });
    assert.equal(outputsText("local", outputs, "replicas"), "2");
    assert.equal(outputsText("local", outputs, "apiUrl", true), '"http://shop.localhost/api"');
  });

  it("shows a secret output as [secret], never its value", () => {
    assert.equal(outputsText("local", outputs, "grafanaAdminPassword"), SECRET_PLACEHOLDER);
    assert.equal(outputsText("local", outputs, "grafanaAdminPassword", true), JSON.stringify(SECRET_PLACEHOLDER));
  });

  it("refuses an unknown output name as bad input, naming the stack, the name and the outputs there are", () => {
    assert.throws(
      () => outputsText("local", outputs, "apiURL"),
      (e: unknown) =>
        e instanceof UsageError &&
        e.exitCode === 2 &&
        e.message === "stack 'local' has no output 'apiURL': its outputs are apiUrl, endpoints, grafanaAdminPassword, namespace, replicas",
    );
  });

  it("says a stack without outputs has to be deployed first", () => {
    assert.throws(() => outputsText("dev", {}, "apiUrl"), /^UsageError: stack 'dev' has no output 'apiUrl': its outputs are \(none: deploy it first\)$/);
    assert.equal(outputsText("dev", {}), "{}");
  });
});
