import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./components/config";
import { MysqlLab } from "./components/lab";
import { hostPort } from "./components/replication/connection";

// Validate everything before declaring anything.
const config = loadConfig();
const project = pulumi.getProject();
const stack = pulumi.getStack();

const lab = new MysqlLab("lab", {
    settings: config,
    namePrefix: `${project}-${stack}`,
    labels: { "mysql-replicas.project": project, "mysql-replicas.stack": stack },
    passwords: config.passwords,
});

const endpoint = (s: { host: string; port: number }) => hostPort(s.host, s.port);

/** host:port of the source, as published on bindAddress. */
export const sourceEndpoint = endpoint(lab.source);
/** host:port of each replica, in server order. */
export const replicaEndpoints = lab.replicas.map(endpoint);
export const replicaCount = lab.replicas.length;
/** server_id of each server, in server order (index 0 is the source). */
export const serverIds = config.servers.map((s) => s.serverId);
/** Role of each server, in server order. */
export const roles = config.servers.map((s) => s.role);
/** Container name of each server, in server order. */
export const serverNames = lab.servers.map((s) => s.internalHost);
/** Secret: mysql:// URL of root on each server, in server order (for `npm run status` and `verify`). */
export const adminConnectionStrings = lab.servers.map((s) => lab.connectionString("admin", s));
export const flavor = config.flavor;
export const database = config.database;
/** Secret: mysql:// URL of the app user on the source. */
export const appConnectionString = lab.connectionString("app", lab.source);
/** Secret: mysql:// URL of the read-only user on each replica (the source when there are none). */
export const readonlyConnectionStrings = (lab.replicas.length > 0 ? lab.replicas : [lab.source])
    .map((r) => lab.connectionString("readonly", r));
/** host:port of the read endpoint (HAProxy over the replicas), when enabled. */
export const readEndpoint = config.readEndpoint ? endpoint({ host: lab.source.host, port: config.readEndpointPort }) : null;
/** URL of the demo app and its live page, when enabled (http://127.0.0.1:18080 by default). */
export const demoAppUrl = lab.demoApp?.url ?? null;
/** Servers left out of replication after a forced failover, by index, with the reason (empty when none). */
export const leftOut = lab.topology.leftOut.apply((l) => l ?? {});
/** What the last move of the source (or rejoin) did. */
export const lastTopologyChange = lab.topology.lastChange;
/** Replication threads per replica, as last seen by Pulumi (refresh to update). */
export const replication = lab.replications.map((r) => ({ io: r.ioRunning, sql: r.sqlRunning, source: r.actualSourceHost }));
