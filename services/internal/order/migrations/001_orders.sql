-- status: new (stock being reserved) -> pending (awaiting payment) -> paid | cancelled | expired;
--         new -> failed (the reservation's outcome is unknown: its stock is released by the sweeper).
CREATE TABLE IF NOT EXISTS orders (
  id             VARCHAR(64)     NOT NULL PRIMARY KEY,
  user_id        BIGINT UNSIGNED NOT NULL,
  status         ENUM('new','pending','paid','cancelled','expired','failed') NOT NULL,
  total_cents    BIGINT          NOT NULL DEFAULT 0,
  stock_released BOOLEAN         NOT NULL DEFAULT FALSE,
  created_at     TIMESTAMP(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at     TIMESTAMP(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  expires_at     TIMESTAMP(6)    NULL,
  KEY orders_user (user_id, created_at),
  KEY orders_status_expiry (status, expires_at),
  KEY orders_release (stock_released, status)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

CREATE TABLE IF NOT EXISTS order_items (
  order_id    VARCHAR(64)     NOT NULL,
  product_id  BIGINT UNSIGNED NOT NULL,
  name        VARCHAR(200)    NOT NULL DEFAULT '',
  quantity    INT             NOT NULL,
  price_cents BIGINT          NOT NULL DEFAULT 0,
  PRIMARY KEY (order_id, product_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Transactional outbox: events are written with the order change and
-- published to RabbitMQ by the relay, so none is lost while RabbitMQ is down.
CREATE TABLE IF NOT EXISTS order_outbox (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  message_id   VARCHAR(128)    NOT NULL,
  routing_key  VARCHAR(64)     NOT NULL,
  payload      JSON            NOT NULL,
  created_at   TIMESTAMP(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  published_at TIMESTAMP(6)    NULL,
  UNIQUE KEY order_outbox_message (message_id),
  KEY order_outbox_unpublished (published_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
