/**
 * The tables the lab writes for its demo app, as dynamic resources on the source (replicas get them by
 * replication): the app's table, and the desired topology the app's page shows as each server's
 * configured role. Reads report what the server holds, so a dropped table or edited row is drift.
 */
import * as pulumi from "@pulumi/pulumi";
import { adminEndpoint, query, withConnection } from "./connection";
import { type InputTable, changedInputs, diffOf } from "./inputs";
import * as tables from "./labTablesSql";
import {
    GONE_AFTER_SECONDS, SERVER_INPUTS, type ServerInputs, type SqlServerArgs, TIMEOUT_SECONDS, readOrUnknown,
    secretOpts, serverProps, unlessServerGone,
} from "./sqlResource";

// ---------------------------------------------------------------- table

export interface TableInputs extends ServerInputs {
    readonly database: string;
    readonly table: string;
    /** CREATE TABLE IF NOT EXISTS for it. */
    readonly ddl: string;
}

/** A table is named by its database, name and definition: a change to any makes a new one. */
const TABLE_INPUTS: InputTable<TableInputs> = {
    ...SERVER_INPUTS,
    database: { change: "replace" },
    table: { change: "replace" },
    ddl: { change: "replace" },
};

export const tableProvider: pulumi.dynamic.ResourceProvider<TableInputs, TableInputs> = {
    async diff(_id, olds, news) {
        // Another definition is another table: the lab's rows are examples, not data to migrate.
        return diffOf(changedInputs(TABLE_INPUTS, olds, news));
    },
    async create(inputs) {
        await withConnection(adminEndpoint(inputs), TIMEOUT_SECONDS, "server", (conn) => query(conn, { sql: inputs.ddl }));
        return { id: `${inputs.database}.${inputs.table}`, outs: inputs };
    },
    async read(id, props) {
        const p = props as TableInputs;
        const rows = await readOrUnknown(p, (conn) => query<{ n: number | string }>(conn, tables.tableExists(p.database, p.table)));
        return rows !== undefined && Number(rows[0].n) === 0 ? { id: "", props: p } : { id, props: p };
    },
    async update(_id, _olds, news) {
        // Only the server changed (the source moved): the table is there already, by replication.
        return { outs: news };
    },
    async delete(_id, props) {
        await unlessServerGone(() => withConnection(adminEndpoint(props), GONE_AFTER_SECONDS, "server",
            (conn) => query(conn, tables.dropTable(props.database, props.table))));
    },
};

export interface SqlTableArgs extends SqlServerArgs {
    readonly database: pulumi.Input<string>;
    readonly table: pulumi.Input<string>;
    readonly ddl: pulumi.Input<string>;
}

/** A table made by its CREATE TABLE IF NOT EXISTS; dropped when deleted. */
export class SqlTable extends pulumi.dynamic.Resource {
    constructor(name: string, args: SqlTableArgs, opts?: pulumi.CustomResourceOptions) {
        super(tableProvider, name, { ...serverProps(args), database: args.database, table: args.table, ddl: args.ddl },
            secretOpts(opts, ["adminPassword"]), "sql", "Table");
    }
}

// ---------------------------------------------------------------- desired topology

export interface DesiredTopologyInputs extends ServerInputs {
    readonly servers: readonly tables.DesiredServer[];
}

const DESIRED_INPUTS: InputTable<DesiredTopologyInputs> = {
    ...SERVER_INPUTS,
    servers: { change: "apply" },
};

export const desiredTopologyProvider: pulumi.dynamic.ResourceProvider<DesiredTopologyInputs, DesiredTopologyInputs> = {
    async diff(_id, olds, news) {
        const changed = changedInputs(DESIRED_INPUTS, olds, news);
        return { changes: changed.apply.length + changed.record.length > 0 };
    },
    async create(inputs) {
        await write(inputs);
        return { id: tables.DESIRED_TABLE_NAME, outs: inputs };
    },
    async read(id, props) {
        const p = props as DesiredTopologyInputs;
        const rows = await readOrUnknown(p, async (conn) => {
            const [exists] = await query<{ n: number | string }>(conn, tables.tableExists(tables.LAB_SCHEMA, tables.DESIRED_TABLE));
            return Number(exists.n) === 0 ? null : tables.parseDesired(await query(conn, tables.readDesired()));
        });
        if (rows === undefined) return { id, props: p };
        return rows === null ? { id: "", props: p } : { id, props: { ...p, servers: rows } };
    },
    async update(_id, _olds, news) {
        // Written again on the current source, also when only the source moved.
        await write(news);
        return { outs: news };
    },
    async delete(_id, props) {
        await unlessServerGone(() => withConnection(adminEndpoint(props), GONE_AFTER_SECONDS, "server",
            (conn) => query(conn, tables.dropLabSchema())));
    },
};

async function write(d: DesiredTopologyInputs): Promise<void> {
    await withConnection(adminEndpoint(d), TIMEOUT_SECONDS, "server", async (conn) => {
        for (const stmt of tables.writeDesired(d.servers)) await query(conn, stmt);
    });
}

export interface DesiredTopologyArgs extends SqlServerArgs {
    readonly servers: pulumi.Input<pulumi.Input<tables.DesiredServer>[]>;
}

/** The lab's config as rows of mysql_replicas.desired_topology, on the source. */
export class DesiredTopology extends pulumi.dynamic.Resource {
    constructor(name: string, args: DesiredTopologyArgs, opts?: pulumi.CustomResourceOptions) {
        super(desiredTopologyProvider, name, { ...serverProps(args), servers: args.servers },
            secretOpts(opts, ["adminPassword"]), "sql", "DesiredTopology");
    }
}
