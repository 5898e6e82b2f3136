-- Idempotent order creation: a POST /api/orders with an Idempotency-Key is stored with the key and
-- a hash of its normalized body; the unique key makes a second order under the same (user, key)
-- impossible, also for concurrent retries. Orders placed without a key keep NULL (not unique).
ALTER TABLE orders
  ADD COLUMN idempotency_key VARCHAR(128) NULL,
  ADD COLUMN request_hash    CHAR(64)     NULL,
  ADD UNIQUE KEY orders_idempotency (user_id, idempotency_key);
