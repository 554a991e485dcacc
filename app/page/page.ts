/// <reference lib="dom" />
/** The lab's live page: polls /api/state every second and draws it; a form writes and reads back. */
import type { AddReply, ErrorReply, InformationReply, LabState, ServerState } from "../types";
import { drawTopology } from "./topology";

const POLL_MS = 1000;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

function cell(text: string | number | null | undefined, cls = ""): HTMLTableCellElement {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined || text === "" ? "–" : String(text);
    if (cls) td.className = cls;
    return td;
}

function serverRow(s: ServerState): HTMLTableRowElement {
    const tr = document.createElement("tr");
    tr.dataset.server = s.name;
    tr.dataset.roleObserved = s.observedRole;
    tr.dataset.roleConfigured = s.configuredRole ?? "";
    tr.dataset.reachable = String(s.reachable);
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = `${s.name}${s.serverId !== null ? ` (id ${s.serverId})` : ""}`;
    const r = s.replication;
    const differs = s.configuredRole !== null && s.configuredRole !== s.observedRole;
    tr.append(th,
        cell(`${s.observedRole} / ${s.configuredRole ?? "?"}${differs ? " ⚠ differs" : ""}`, differs ? "warn" : ""),
        cell(s.reachable ? "yes" : `NO: ${s.error ?? ""}`, s.reachable ? "" : "warn"),
        cell(s.readOnly === null ? null : `${s.readOnly ? "yes" : "no"}${s.superReadOnly ? " (super)" : ""}`),
        cell(r ? `${r.ioRunning ? "on" : "OFF"} / ${r.sqlRunning ? "on" : "OFF"}${r.lastError ? `: ${r.lastError}` : ""}` : null, r && !(r.ioRunning && r.sqlRunning) ? "warn" : ""),
        cell(r?.secondsBehind), cell(r?.missingTransactions),
        cell(s.semiSync ? `source ${s.semiSync.sourceOn ? "on" : "off"}, replica ${s.semiSync.replicaOn ? "on" : "off"}` : null),
        cell(r?.delaySeconds || null), cell(s.leftOut, s.leftOut ? "warn" : ""));
    return tr;
}

function render(state: LabState): void {
    $("flavor").textContent = `· ${state.flavor} · database ${state.database}`;
    $("summary").textContent = `Source: ${state.source ?? "none found"} · writes go to ${state.writesTo ?? "nowhere"} · ` +
        `updated ${new Date(state.at).toLocaleTimeString()}`;
    drawTopology($("topology"), state);
    $("servers").querySelector("tbody")!.replaceChildren(...state.servers.map(serverRow));
    $("backends").querySelector("tbody")!.replaceChildren(...state.readEndpoint.backends.map((b) => {
        const tr = document.createElement("tr");
        tr.dataset.backend = b.name;
        tr.append(cell(`${b.name}${b.backup ? " (backup)" : ""}`), cell(b.status, b.status.startsWith("UP") ? "" : "warn"), cell(b.sessionsNow), cell(b.sessionsTotal));
        return tr;
    }));
    $("endpoint-error").textContent = state.readEndpoint.error ?? "";
    const counts = Object.entries(state.answered).sort(([a], [b]) => a.localeCompare(b));
    const most = Math.max(1, ...counts.map(([, n]) => n));
    $("answered").replaceChildren(...counts.map(([name, n]) => {
        const li = document.createElement("li");
        const bar = document.createElement("span");
        bar.className = "bar";
        bar.style.width = `${Math.round((n / most) * 160)}px`;
        li.append(bar, `${name}: ${n}`);
        return li;
    }));
}

async function poll(): Promise<void> {
    try {
        const res = await fetch("api/state", { cache: "no-store" });
        if (!res.ok) throw new Error(((await res.json()) as ErrorReply).error);
        render((await res.json()) as LabState);
    } catch (err) {
        $("summary").textContent = `The app does not answer (${(err as Error).message}); trying again…`;
    } finally {
        setTimeout(poll, POLL_MS);
    }
}

function show(lines: string[], error = false): void {
    const box = $("result");
    box.className = error ? "warn" : "";
    box.replaceChildren(...lines.map((l) => Object.assign(document.createElement("p"), { textContent: l })));
}

async function add(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const res = await fetch(`add-information${data.get("wait") ? "?wait=1" : ""}`, {
        method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: data.get("name"), address: data.get("address") }),
    });
    const body = (await res.json()) as AddReply & ErrorReply;
    if (!res.ok) return show([`Refused (${res.status}): ${body.error}`], true);
    const lines = [`Added id ${body.id} on ${body.source}, GTID ${body.gtid}.`];
    if (body.readBack) lines.push(`Read back on ${body.readBack.servedBy.name} after ${body.readBack.waitedMs} ms.`);
    show(lines);
}

async function read(): Promise<void> {
    const res = await fetch("information?fresh=1");
    const body = (await res.json()) as InformationReply & ErrorReply;
    if (!res.ok) return show([`Read failed (${res.status}): ${body.error}`], true);
    show([`Answered by ${body.servedBy.name} (${body.servedBy.role}, ${body.servedBy.secondsBehind ?? 0} s behind):`,
        ...body.rows.slice(0, 5).map((r) => `#${r.id} ${r.name}, ${r.address}`)]);
}

$<HTMLFormElement>("add").addEventListener("submit", (e) => void add(e).catch((err) => show([(err as Error).message], true)));
$("read").addEventListener("click", () => void read().catch((err) => show([(err as Error).message], true)));
void poll();
