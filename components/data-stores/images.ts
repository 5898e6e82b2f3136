/**
 * Third-party images of the data stores, each pinned to an exact release tag. A replacement must run
 * as the same user as the default (each store's file says which).
 */
export const IMAGES = {
  mysql: "mysql:8.4.6",
  redis: "redis:7.4.6-alpine",
  rabbitmq: "rabbitmq:4.1.4-alpine",
} as const;
