/**
 * Names the Go services and this program share: the metrics the alerts and dashboards query, the
 * labels of those metrics, and the HTTP headers the services read or set. Defined once here;
 * test/unit/shared-names.test.ts reads the Go source under services/ and fails when one side is
 * renamed without the other. (Env names are checked by the same test against what the program sets.)
 */

/** Metric names the services register (services/internal/metrics, services/internal/order). */
export const METRICS = {
  requests: "http_requests_total",
  durationBucket: "http_request_duration_seconds_bucket",
  orderBacklog: "order_outbox_pending",
  ordersCreated: "orders_created_total",
  orderEventsPublished: "order_events_published_total",
} as const;

/** The labels of the HTTP metrics (services/internal/metrics: route pattern, method, status code). */
export const HTTP_METRIC_LABELS = ["route", "method", "code"] as const;

/** HTTP headers the services read or set (docs/services.md). */
export const HEADERS = {
  /** A request's id, taken from the client when valid, passed on to upstreams and logged as `request_id`. */
  requestId: "X-Request-ID",
  /** Makes `POST /api/orders` safe to retry. */
  idempotencyKey: "Idempotency-Key",
  /** The gateway rate-limits anonymous clients by the entry `TRUSTED_PROXY_HOPS` from the right. */
  forwardedFor: "X-Forwarded-For",
  /** Set by the gateway from the token; client-sent values are removed. */
  userId: "X-User-ID",
  userEmail: "X-User-Email",
  /**
   * Set on every response by every service: one `<service>=<version>` value each (the binary's name and
   * its {@link VERSION_ENV}); through the gateway the gateway's value comes first, then the upstream's.
   */
  serviceVersion: "X-Service-Version",
} as const;

/**
 * The env var the program sets on every service container to the digest of the image it runs
 * (`sha256:<hex>`); the service reports it as `version` in `/healthz` and in
 * {@link HEADERS}.serviceVersion. Unset (a service run by hand), the service reports `dev`. Passed at
 * deploy time, never built into the image, so an image's digest depends on its own code only.
 */
export const VERSION_ENV = "SERVICE_VERSION";

/** Env the program sets that no service code reads: the Go runtime reads it itself. */
export const GO_RUNTIME_ENV = ["GOMEMLIMIT"] as const;
