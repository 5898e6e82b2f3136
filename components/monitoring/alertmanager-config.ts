/**
 * The Alertmanager configuration, generated as typed data. It holds the
 * webhook URL (a secret), so the component stores it in a Kubernetes Secret.
 */

/** A route of the routing tree. */
export interface Route {
  receiver?: string;
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  matchers?: string[];
  continue?: boolean;
  routes?: Route[];
}

/** A receiver: a webhook, or nothing (alerts are then only visible in the Alertmanager UI/API). */
export interface Receiver {
  name: string;
  webhook_configs?: { url: string; send_resolved: boolean; max_alerts: number }[];
}

/** An inhibition rule: alerts matching `target_matchers` are muted while a `source_matchers` alert fires. */
export interface InhibitRule {
  source_matchers: string[];
  target_matchers: string[];
  equal: string[];
}

/** The subset of the Alertmanager configuration file this program uses. */
export interface AlertmanagerConfig {
  global: { resolve_timeout: string };
  route: Route;
  receivers: Receiver[];
  inhibit_rules: InhibitRule[];
}

/** Receiver names. */
export const RECEIVERS = { webhook: "shop-webhook", none: "shop-none" } as const;

/** Checks the webhook URL; throws an Error naming the config key when it is not an http(s) URL. */
export function checkWebhookUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('shop:secrets.alertWebhookUrl: not a URL; set an http(s) URL such as "https://hooks.example.com/alerts"');
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`shop:secrets.alertWebhookUrl: scheme "${parsed.protocol}" is not http or https`);
  }
  return url;
}

/** The TCP port a webhook URL points at (explicit, else the scheme's default). */
export function webhookPort(url: string): number {
  const u = new URL(url);
  return u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
}

/**
 * Renders the Alertmanager configuration. With a webhook URL every alert goes
 * to it; without one alerts are grouped and kept but not sent anywhere.
 */
export function alertmanagerConfig(webhookUrl?: string): AlertmanagerConfig {
  const receiver = webhookUrl ? RECEIVERS.webhook : RECEIVERS.none;
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver,
      group_by: ["alertname", "namespace", "service"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [
        // Critical alerts are repeated sooner until someone acts.
        { receiver, matchers: ['severity="critical"'], repeat_interval: "1h" },
      ],
    },
    receivers: webhookUrl
      ? [{ name: RECEIVERS.webhook, webhook_configs: [{ url: checkWebhookUrl(webhookUrl), send_resolved: true, max_alerts: 0 }] }]
      : [{ name: RECEIVERS.none }],
    inhibit_rules: [
      {
        // A service that is down also fails and is slow: page for the cause only.
        source_matchers: ['alertname="ShopServiceDown"'],
        target_matchers: ['alertname=~"ShopHighErrorRatio|ShopHighLatencyP99"'],
        equal: ["namespace", "service"],
      },
      {
        // The critical variant of an alert mutes its warning variant.
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ["alertname", "namespace", "service"],
      },
    ],
  };
}
