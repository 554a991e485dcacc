/**
 * What the demo app is given (its config file) and what it answers (its HTTP API). Shared by the
 * lab (components/demoApp.ts writes the config), the app (app/server.ts) and its page (app/page/).
 */

/** The app's config file: written by the lab, uploaded into the container as a secret. */
export interface DemoAppConfig {
    /** Port the app listens on inside the container. */
    readonly listenPort: number;
    readonly flavor: "mysql" | "mariadb";
    /** The app database, and the app's table in it. */
    readonly database: string;
    readonly table: string;
    /**
     * How the lab's containers reach server N: this name with `{index}` replaced by N (its container
     * name), on `serverPort`. Which servers there are comes from the desired topology table, so a lab
     * that gains or loses a server changes that table, not this file, and the app keeps running.
     */
    readonly serverHost: string;
    readonly serverPort: number;
    /** The read endpoint (HAProxy over the replicas), and its stats page (CSV). */
    readonly readEndpoint: { readonly host: string; readonly port: number; readonly statsUrl: string };
    /** SELECT and INSERT on the app database: reads through the endpoint, writes on the source. */
    readonly app: Account;
    /** Reads replication state on every server, and the lab's desired topology table. */
    readonly monitor: Account;
    /** The lab's desired topology: `SELECT server_index, role, delay_seconds, left_out FROM <this>`. */
    readonly desiredTable: string;
    /** Where the app writes the time (epoch seconds) of each /healthz it answered itself: the Docker check reads it. */
    readonly healthFile: string;
}

export interface Account {
    readonly user: string;
    readonly password: string;
}

/** GET /api/state: everything the page draws, as observed at `at`. */
export interface LabState {
    readonly at: string;
    readonly flavor: "mysql" | "mariadb";
    readonly database: string;
    readonly servers: readonly ServerState[];
    readonly readEndpoint: EndpointState;
    /** How many /information reads each server answered since the app started, by server name. */
    readonly answered: Readonly<Record<string, number>>;
    /** The observed source: the one writable server that does not replicate (null: none or several). */
    readonly source: string | null;
    /** Where the app sends writes now (null: no source found). */
    readonly writesTo: string | null;
}

export type ObservedRole = "source" | "replica" | "unknown";

export interface ServerState {
    readonly index: number;
    readonly name: string;
    readonly reachable: boolean;
    /** Why it could not be read, when not reachable. */
    readonly error: string | null;
    readonly serverId: number | null;
    readonly version: string | null;
    /** What the lab's config says (from the desired topology table; null when unknown). */
    readonly configuredRole: "source" | "replica" | null;
    /** What the server says: it replicates (replica), or is writable and does not (source). */
    readonly observedRole: ObservedRole;
    readonly readOnly: boolean | null;
    readonly superReadOnly: boolean | null;
    /** Its replication from a source, when it has a channel. */
    readonly replication: ReplicationState | null;
    /** Semi-sync plugins' state, when loaded (null: not loaded or unknown). */
    readonly semiSync: { readonly sourceOn: boolean; readonly replicaOn: boolean } | null;
    /** Why the lab left it out of replication (a forced failover), or null. */
    readonly leftOut: string | null;
}

export interface ReplicationState {
    readonly sourceHost: string;
    readonly ioRunning: boolean;
    readonly sqlRunning: boolean;
    readonly secondsBehind: number | null;
    /** Transactions the source has executed that this replica has not (null: unknown). */
    readonly missingTransactions: number | null;
    readonly delaySeconds: number;
    readonly lastError: string | null;
}

export interface EndpointState {
    readonly host: string;
    /** One row per HAProxy backend server (from its stats CSV); empty with `error` when unreadable. */
    readonly backends: readonly { readonly name: string; readonly status: string; readonly backup: boolean; readonly sessionsNow: number; readonly sessionsTotal: number }[];
    readonly error: string | null;
}

/** The server that answered a read. */
export interface ServedBy {
    readonly name: string;
    readonly serverId: number;
    readonly role: ObservedRole;
    readonly readOnly: boolean;
    /** Seconds behind its source as last observed (null: unknown, or a source). */
    readonly secondsBehind: number | null;
}

export interface InformationRow {
    readonly id: number;
    readonly name: string;
    readonly address: string;
    readonly createdAt: string;
}

/** GET /information[?fresh=1] */
export interface InformationReply {
    readonly servedBy: ServedBy;
    readonly rows: readonly InformationRow[];
    readonly fresh: boolean;
}

/** POST /add-information[?wait=1] with {name, address}: 201. */
export interface AddReply {
    readonly id: number;
    /** The transaction's GTID (MySQL uuid:n, MariaDB domain-server-seq). */
    readonly gtid: string;
    /** The server the row was written on. */
    readonly source: string;
    /** With ?wait=1: where it was read back, once that server had applied `gtid`. */
    readonly readBack?: { readonly servedBy: ServedBy; readonly waitedMs: number; readonly row: InformationRow };
}

/** Any 4xx/5xx: `error` names the field or the reason. */
export interface ErrorReply {
    readonly error: string;
}
