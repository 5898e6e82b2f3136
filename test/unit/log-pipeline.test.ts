/**
 * Fluent Bit's routing filter run for real: the Lua script the program ships (`index.lua` of
 * `fluentBitConfig`) is executed in a Lua VM (fengari) on records shaped as Fluent Bit hands them
 * over after the kubernetes and JSON parser filters; the index template is checked for what
 * Elasticsearch then does with them.
 */
import * as assert from "assert";
import { indexTemplate } from "../../components/logging/elasticsearch-config";
import { fluentBitConfig, SOURCE_TIMESTAMP } from "../../components/logging/pipeline";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { lua, lauxlib, lualib, to_luastring, to_jsstring } = require("fengari");

type Rec = Record<string, unknown>;

function push(L: any, v: unknown): void {
  if (v === null || v === undefined) lua.lua_pushnil(L);
  else if (typeof v === "string") lua.lua_pushstring(L, to_luastring(v));
  else if (typeof v === "number") lua.lua_pushnumber(L, v);
  else if (typeof v === "boolean") lua.lua_pushboolean(L, v);
  else {
    lua.lua_newtable(L);
    for (const [k, x] of Object.entries(v as Rec)) {
      push(L, x);
      lua.lua_setfield(L, -2, to_luastring(k));
    }
  }
}

function read(L: any, i: number): unknown {
  switch (lua.lua_type(L, i)) {
    case lua.LUA_TSTRING:
      return to_jsstring(lua.lua_tostring(L, i));
    case lua.LUA_TNUMBER:
      return lua.lua_tonumber(L, i);
    case lua.LUA_TBOOLEAN:
      return lua.lua_toboolean(L, i);
    case lua.LUA_TTABLE: {
      const out: Rec = {};
      const t = lua.lua_absindex(L, i);
      lua.lua_pushnil(L);
      while (lua.lua_next(L, t) !== 0) {
        out[to_jsstring(lua.lua_tostring(L, -2))] = read(L, -1);
        lua.lua_pop(L, 1);
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** Runs `shop_index(tag, timestamp, record)` of the shipped script; returns its code and record. */
function runFilter(record: Rec): { code: number; record: Rec } {
  const L = lauxlib.luaL_newstate();
  lualib.luaL_openlibs(L);
  const script = fluentBitConfig({ elasticsearchHost: "es" })["index.lua"];
  if (lauxlib.luaL_dostring(L, to_luastring(script)) !== lua.LUA_OK) throw new Error(to_jsstring(lua.lua_tostring(L, -1)));
  lua.lua_getglobal(L, to_luastring("shop_index"));
  push(L, "kube.var.log.containers.x.log");
  push(L, 1764400000.5);
  push(L, record);
  if (lua.lua_pcall(L, 3, 3, 0) !== lua.LUA_OK) throw new Error(to_jsstring(lua.lua_tostring(L, -1)));
  return { code: lua.lua_tonumber(L, -3), record: read(L, -1) as Rec };
}

const k8s = (namespace: string) => ({ namespace_name: namespace, pod_name: "p-1", container_name: "c" });

describe("log pipeline (Fluent Bit's Lua filter, run)", () => {
  it("routes each record to its namespace's index family and keeps every field", () => {
    const { code, record } = runFilter({ kubernetes: k8s("shop-local"), level: "INFO", msg: "order created", status: 201, duration: 4200000 });
    assert.strictEqual(code, 2, "modified record, original timestamp");
    assert.deepStrictEqual(record, {
      kubernetes: k8s("shop-local"),
      level: "INFO",
      msg: "order created",
      status: 201,
      duration: 4200000,
      es_index: "shop-logs-shop-local",
    });
  });

  it("keeps a line that carries its own @timestamp (Elasticsearch's ECS logs): the value moves aside instead of clashing with the output's", () => {
    const { record } = runFilter({
      kubernetes: k8s("shop-local-observability"),
      "@timestamp": "2026-11-29T10:00:00.123Z",
      "log.level": "WARN",
      message: "high disk watermark exceeded",
    });
    assert.strictEqual(record["@timestamp"], undefined, "the es output adds @timestamp; a second one is a duplicate field");
    assert.strictEqual(record[SOURCE_TIMESTAMP], "2026-11-29T10:00:00.123Z");
    assert.strictEqual(record.message, "high disk watermark exceeded");
    assert.strictEqual(record.es_index, "shop-logs-shop-local-observability");
  });

  it("keeps Grafana's `duration: \"4.6ms\"` lines: the filter passes the string on, the index ignores malformed typed values", () => {
    const { record } = runFilter({ kubernetes: k8s("shop-local-observability"), logger: "context", duration: "4.6ms", status: 200 });
    assert.strictEqual(record.duration, "4.6ms");
    const template = indexTemplate(1).template;
    assert.strictEqual(template.mappings.properties.duration.type, "long");
    assert.strictEqual(
      template.settings["index.mapping.ignore_malformed"],
      true,
      "a string in a long field must leave the field unindexed, not reject the document",
    );
  });

  it("sends records without Kubernetes metadata to the `unknown` family rather than dropping them", () => {
    assert.strictEqual(runFilter({ log: "plain text" }).record.es_index, "shop-logs-unknown");
  });
});
