/** Redis: the product service's cache. */
import * as pulumi from "@pulumi/pulumi";
import { IMAGES } from "./images";
import { exec, StoreDefinition } from "./store";

export const REDIS: StoreDefinition = {
  image: IMAGES.redis,
  port: 6379,
  // addgroup -g 1000 redis; adduser -u 999 -G redis redis (Alpine)
  user: { uid: 999, gid: 1000 },
  resources: { cpu: "50m", memory: "64Mi", cpuLimit: "250m", memoryLimit: "128Mi" },
  pod: (_args, port, _image, password) => ({
    mounts: [{ name: "data", mountPath: "/data" }],
    container: {
      env: [{ name: "REDIS_PASSWORD", valueFrom: password }],
      // $(REDIS_PASSWORD) is expanded by the kubelet; the pod spec holds no password.
      args: ["--port", String(port), "--requirepass", "$(REDIS_PASSWORD)", "--appendonly", "yes", "--dir", "/data"],
      startupProbe: { tcpSocket: { port: "db" }, periodSeconds: 2, failureThreshold: 30 },
      livenessProbe: { tcpSocket: { port: "db" }, periodSeconds: 10, failureThreshold: 3 },
      readinessProbe: {
        ...exec("sh", "-c", `redis-cli -p ${port} --no-auth-warning -a "$REDIS_PASSWORD" ping | grep -q PONG`),
        periodSeconds: 5,
        failureThreshold: 3,
        timeoutSeconds: 3,
      },
    },
  }),
  env: (_args, at) => ({ REDIS_ADDR: pulumi.interpolate`${at.host}:${at.port}`, REDIS_PASSWORD: at.password }),
};
