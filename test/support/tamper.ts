/**
 * Changing data on a replica behind replication's back, as tests do to make drift on purpose: the
 * change is kept out of the binary log, and on MySQL super_read_only is lifted for the moment (root
 * may write despite read_only, never despite super_read_only) and put back after.
 */
import { type ServerVersion, type Statement } from "../../components/replication/sql";

export function behindReplicationsBack(v: ServerVersion, statements: readonly Statement[]): Statement[] {
    const hasSuper = v.flavor === "mysql";
    return [
        ...(hasSuper ? [{ sql: "SET GLOBAL super_read_only = OFF" }] : []),
        { sql: "SET SESSION sql_log_bin = 0" },
        ...statements,
        ...(hasSuper ? [{ sql: "SET GLOBAL super_read_only = ON" }] : []),
    ];
}
