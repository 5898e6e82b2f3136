// Package it holds the integration and resilience tests: they run the four
// services as real processes (this test binary re-executed as each service)
// against real MariaDB, Redis and RabbitMQ servers on loopback, started by
// scripts/stores.sh. Without SHOP_IT=1 they skip; scripts/test-services.sh
// sets it and fails on any skip.
package it
