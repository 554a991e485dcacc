/** The app's pure parts: input validation, GTID arithmetic, HAProxy's stats, the servers, finding the source. */
import type { DemoAppConfig, EndpointState, ServerState } from "./types";

export const LIMITS = { name: 100, address: 200 } as const;

/** A POST body checked: the fields, or a message naming the field and what is allowed. */
export function validateInformation(body: unknown): { name: string; address: string } | { error: string } {
    if (typeof body !== "object" || body === null || Array.isArray(body)) return { error: "body: expected a JSON object {name, address}" };
    const o = body as Record<string, unknown>;
    const extra = Object.keys(o).filter((k) => k !== "name" && k !== "address");
    if (extra.length > 0) return { error: `${extra.join(", ")}: unknown field; expected only name and address` };
    const out: Record<string, string> = {};
    for (const field of ["name", "address"] as const) {
        const v = o[field];
        const text = typeof v === "string" ? v.trim() : undefined;
        if (text === undefined || text.length === 0 || text.length > LIMITS[field]) {
            return { error: `${field}: ${JSON.stringify(v ?? null)} is not allowed; expected a string of 1 to ${LIMITS[field]} characters` };
        }
        out[field] = text;
    }
    return { name: out.name, address: out.address };
}

/** MySQL GTID set "uuid:1-5:7,uuid2:3" as intervals per uuid. */
function mysqlIntervals(set: string): Map<string, [number, number][]> {
    const out = new Map<string, [number, number][]>();
    for (const part of set.replace(/\s+/g, "").split(",").filter(Boolean)) {
        const [uuid, ...ranges] = part.split(":");
        const list = out.get(uuid.toLowerCase()) ?? [];
        for (const r of ranges) {
            if (!/^\d+(-\d+)?$/.test(r)) continue; // a tag (MySQL 8.4+) or a malformed range
            const [a, b] = r.split("-").map(Number);
            list.push([a, b ?? a]);
        }
        out.set(uuid.toLowerCase(), list);
    }
    return out;
}

/** How many transactions of `source` are not in `replica` (MySQL GTID sets). */
export function mysqlMissing(source: string, replica: string): number {
    const have = mysqlIntervals(replica);
    let missing = 0;
    for (const [uuid, ranges] of mysqlIntervals(source)) {
        const own = have.get(uuid) ?? [];
        for (const [a, b] of ranges) {
            let count = b - a + 1;
            for (const [c, d] of own) count -= Math.max(0, Math.min(b, d) - Math.max(a, c) + 1);
            missing += Math.max(0, count);
        }
    }
    return missing;
}

/** How many transactions of `source` are not in `replica` (MariaDB positions "domain-server-seq", per domain). */
export function mariadbMissing(source: string, replica: string): number {
    const seqs = (pos: string) => new Map(pos.split(",").map((g) => g.trim().split("-")).filter((p) => p.length === 3)
        .map(([domain, , seq]) => [domain, Number(seq)] as [string, number]));
    const have = seqs(replica);
    let missing = 0;
    for (const [domain, seq] of seqs(source)) missing += Math.max(0, seq - (have.get(domain) ?? 0));
    return missing;
}

/** The `readers` backend's servers from HAProxy's stats CSV (`# pxname,svname,…`). */
export function parseHaproxyCsv(csv: string, backend = "readers"): EndpointState["backends"] {
    const lines = csv.split("\n").filter((l) => l.trim() !== "");
    if (lines.length === 0 || !lines[0].startsWith("# ")) return [];
    const header = lines[0].slice(2).split(",");
    const col = (row: string[], name: string) => row[header.indexOf(name)] ?? "";
    return lines.slice(1).map((l) => l.split(","))
        .filter((row) => col(row, "pxname") === backend && !["FRONTEND", "BACKEND"].includes(col(row, "svname")))
        .map((row) => ({
            name: col(row, "svname"),
            status: col(row, "status"),
            backup: col(row, "bck") === "1",
            sessionsNow: Number(col(row, "scur")) || 0,
            sessionsTotal: Number(col(row, "stot")) || 0,
        }));
}

/** The one writable server that does not replicate, by name; null when there is none or several. */
export function findSource(servers: readonly Pick<ServerState, "name" | "reachable" | "observedRole">[]): string | null {
    const sources = servers.filter((s) => s.reachable && s.observedRole === "source");
    return sources.length === 1 ? sources[0].name : null;
}

/** Server `index` as the lab's containers reach it: its container name, which is also its name on the page. */
export function serverTarget(config: Pick<DemoAppConfig, "serverHost" | "serverPort">, index: number): { index: number; name: string; host: string; port: number } {
    const name = config.serverHost.split("{index}").join(String(index));
    return { index, name, host: name, port: config.serverPort };
}

/** The servers of the desired topology's rows, by index, in order. */
export function serverIndexes(desired: readonly Record<string, unknown>[]): number[] {
    const indexes = desired.map((r) => Number(r.server_index)).filter((n) => Number.isInteger(n) && n >= 0);
    return [...new Set(indexes)].sort((a, b) => a - b);
}
