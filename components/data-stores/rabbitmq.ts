/** RabbitMQ: the queue the order service publishes its events to. */
import { IMAGES } from "./images";
import { exec, StoreArgs, StoreDefinition } from "./store";

/** Arguments of the RabbitMQ store. */
export interface RabbitmqArgs extends StoreArgs {
  /** The user the services connect as. */
  user: string;
  /** The virtual host the services use. */
  vhost: string;
}

export const RABBITMQ: StoreDefinition<RabbitmqArgs> = {
  image: IMAGES.rabbitmq,
  port: 5672,
  // addgroup -g 101 rabbitmq; adduser -u 100 -G rabbitmq rabbitmq (Alpine)
  user: { uid: 100, gid: 101 },
  resources: { cpu: "100m", memory: "256Mi", cpuLimit: "500m", memoryLimit: "512Mi" },
  // HOME (the Erlang cookie) is the claim; logs and crash dumps go to an emptyDir; the rest of
  // the image stays read-only (the server's own env vars replace writing /etc/rabbitmq).
  pod: (args, port, _image, password) => ({
    mounts: [
      { name: "data", mountPath: "/var/lib/rabbitmq" },
      { name: "log", mountPath: "/var/log/rabbitmq" },
    ],
    volumes: [{ name: "log", emptyDir: { sizeLimit: "64Mi" } }],
    container: {
      env: [
        { name: "RABBITMQ_DEFAULT_USER", value: args.user },
        { name: "RABBITMQ_DEFAULT_PASS", valueFrom: password },
        { name: "RABBITMQ_DEFAULT_VHOST", value: args.vhost },
        { name: "RABBITMQ_NODE_PORT", value: String(port) },
      ],
      startupProbe: { ...exec("rabbitmq-diagnostics", "-q", "ping"), periodSeconds: 10, failureThreshold: 30, timeoutSeconds: 10 },
      livenessProbe: { ...exec("rabbitmq-diagnostics", "-q", "ping"), periodSeconds: 30, failureThreshold: 3, timeoutSeconds: 10 },
      readinessProbe: { tcpSocket: { port: "db" }, periodSeconds: 10, failureThreshold: 3 },
    },
  }),
  env: (args, at) => ({
    RABBITMQ_HOST: at.host,
    RABBITMQ_PORT: String(at.port),
    RABBITMQ_USER: args.user,
    RABBITMQ_PASSWORD: at.password,
    RABBITMQ_VHOST: args.vhost,
  }),
};
