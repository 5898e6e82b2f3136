/** MySQL: the shop's relational store (users, products, orders). */
import * as k8s from "@pulumi/kubernetes";
import { containerSecurityContext } from "../kit";
import { IMAGES } from "./images";
import { exec, StoreArgs, StoreDefinition } from "./store";

/** Arguments of the MySQL store. */
export interface MysqlArgs extends StoreArgs {
  /** The database the services use. */
  database: string;
  /** The user the services connect as. */
  user: string;
}

/** Where MySQL's claim is mounted; the data directory is a subdirectory of it (see the pod below). */
export const MYSQL_VOLUME = "/var/lib/mysql";
export const MYSQL_DATADIR = `${MYSQL_VOLUME}/data`;

export const MYSQL: StoreDefinition<MysqlArgs> = {
  image: IMAGES.mysql,
  port: 3306,
  // groupadd --gid 999 mysql; useradd --uid 999 --gid 999 mysql (Oracle Linux)
  user: { uid: 999, gid: 999 },
  resources: { cpu: "100m", memory: "256Mi", cpuLimit: "1", memoryLimit: "512Mi" },
  pod(args, port, image, password) {
    // A fresh cloud disk holds `lost+found`, and mysqld refuses to initialise a non-empty data
    // directory: the claim is mounted at MYSQL_VOLUME and mysqld's data directory is data/ inside
    // it, created by mysqld itself (so owned by its user whatever the volume's root holds).
    return {
      mounts: [
        { name: "data", mountPath: MYSQL_VOLUME },
        { name: "run", mountPath: "/var/run/mysqld" },
      ],
      volumes: [{ name: "run", emptyDir: { sizeLimit: "16Mi" } }],
      initContainers: [mysqlLayoutMigration(image)],
      container: {
        env: [
          // The root password is random and never leaves the pod; services use MYSQL_USER.
          { name: "MYSQL_RANDOM_ROOT_PASSWORD", value: "yes" },
          { name: "MYSQL_DATABASE", value: args.database },
          { name: "MYSQL_USER", value: args.user },
          { name: "MYSQL_PASSWORD", valueFrom: password },
        ],
        args: [`--port=${port}`, `--datadir=${MYSQL_DATADIR}`],
        startupProbe: { ...exec("mysqladmin", "ping", "-h", "127.0.0.1", `--port=${port}`, "--silent"), periodSeconds: 5, failureThreshold: 60, timeoutSeconds: 5 },
        livenessProbe: { ...exec("mysqladmin", "ping", "-h", "127.0.0.1", `--port=${port}`, "--silent"), periodSeconds: 15, failureThreshold: 4, timeoutSeconds: 5 },
        readinessProbe: { tcpSocket: { port: "db" }, periodSeconds: 5, failureThreshold: 3 },
      },
    };
  },
  env: (args, at) => ({
    MYSQL_HOST: at.host,
    MYSQL_PORT: String(at.port),
    MYSQL_USER: args.user,
    MYSQL_PASSWORD: at.password,
    MYSQL_DATABASE: args.database,
  }),
};

/**
 * Moves a store made before the data directory became MYSQL_DATADIR (its files at the volume's
 * root) into the subdirectory, so mysqld finds its data instead of initialising an empty one.
 * A no-op on a fresh volume and on every later start.
 */
function mysqlLayoutMigration(image: string): k8s.types.input.core.v1.Container {
  const script = [
    "set -eu",
    `cd ${MYSQL_VOLUME}`,
    // data.partial: a move cut short by a restart resumes instead of leaving an empty data/.
    "if [ ! -e data ] && { [ -d mysql ] || [ -d data.partial ]; }; then",
    "  mkdir -p data.partial",
    "  for f in * .[!.]*; do",
    "    case \"$f\" in lost+found|data.partial) ;; *) if [ -e \"$f\" ]; then mv \"$f\" data.partial/; fi ;; esac",
    "  done",
    "  mv data.partial data",
    "fi",
  ].join("\n");
  return {
    name: "datadir-layout",
    image,
    imagePullPolicy: "IfNotPresent",
    command: ["sh", "-c", script],
    resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { cpu: "100m", memory: "32Mi" } },
    securityContext: containerSecurityContext(true),
    volumeMounts: [{ name: "data", mountPath: MYSQL_VOLUME }],
  };
}
