/** RabbitMQ: the queue the order service publishes its events to. */
import { IMAGES } from "./images";
import { StoreArgs, StoreDefinition } from "./store";

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
      // The AMQP port: the broker opens its listeners at the end of its boot (after the default user
      // and vhost exist) and closes them when it stops. Not `rabbitmq-diagnostics`: each run boots an
      // Erlang VM in the pod (0.8 s of CPU, measured here), 70 % of an idle broker's CPU at one probe
      // every 30 s; and `ping` answers even when a boot step failed (docs/local.md).
      startupProbe: { tcpSocket: { port: "db" }, periodSeconds: 2, failureThreshold: 150 },
      livenessProbe: { tcpSocket: { port: "db" }, periodSeconds: 20, failureThreshold: 3 },
      readinessProbe: { tcpSocket: { port: "db" }, periodSeconds: 5, failureThreshold: 2 },
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
