/// <reference lib="dom" />
/** The topology as an SVG: the read endpoint on top, the source, its replicas below with arrows. */
import type { LabState, ServerState } from "../types";

const SVG = "http://www.w3.org/2000/svg";
const W = 180;
const H = 74;

function el(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
}

/** Words a box says of a server: its role and what is wrong, so colour is never the only signal. */
function lines(s: ServerState): string[] {
    if (!s.reachable) return [s.name, "DOES NOT ANSWER", s.configuredRole ? `configured: ${s.configuredRole}` : ""];
    const role = s.configuredRole && s.configuredRole !== s.observedRole ? `${s.observedRole} (configured ${s.configuredRole})` : s.observedRole;
    const r = s.replication;
    const lag = r ? `IO ${r.ioRunning ? "on" : "OFF"} · SQL ${r.sqlRunning ? "on" : "OFF"} · ${r.secondsBehind ?? "?"} s` : `id ${s.serverId} · writable: ${s.readOnly ? "no" : "yes"}`;
    return [s.name.replace(/^.*-(server-\d+)$/, "$1"), role + (s.leftOut ? " · LEFT OUT" : ""), lag];
}

function box(x: number, y: number, cls: string, text: string[], attrs: Record<string, string>): SVGElement {
    const g = el("g", { class: `node ${cls}`, transform: `translate(${x},${y})`, ...attrs });
    g.append(el("rect", { width: W, height: H, rx: 8 }));
    text.forEach((t, i) => g.append(el("text", { x: 10, y: 20 + i * 19 }, t)));
    return g;
}

export function drawTopology(host: HTMLElement, state: LabState): void {
    const servers = state.servers;
    const source = servers.find((s) => s.name === state.source);
    const replicas = servers.filter((s) => s !== source);
    const width = Math.max(3, replicas.length) * (W + 30) + 30;
    const svg = el("svg", { viewBox: `0 0 ${width} 330`, role: "presentation" }) as SVGSVGElement;
    const defs = el("defs", {});
    const marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" });
    marker.append(el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#555" }));
    defs.append(marker);
    svg.append(defs);

    const at = new Map<string, { x: number; y: number }>();
    const sx = width / 2 - W / 2;
    if (source) at.set(source.name, { x: sx, y: 120 });
    replicas.forEach((r, i) => at.set(r.name, { x: 30 + i * (W + 30), y: 240 }));
    const ex = 30;
    // The endpoint reads from its backends that are up.
    for (const b of state.readEndpoint.backends.filter((b) => b.status.startsWith("UP") && !b.backup)) {
        const p = at.get(b.name);
        if (p) svg.append(el("path", { class: "edge read", d: `M${ex + W / 2},${10 + H} C${ex + W / 2},200 ${p.x + W / 2},190 ${p.x + W / 2},${p.y}` }));
    }
    // Each replica's arrow comes from the server it replicates from.
    for (const r of replicas.filter((s) => s.replication)) {
        const from = at.get(servers.find((s) => s.name === r.replication!.sourceHost)?.name ?? "");
        const to = at.get(r.name)!;
        if (from) {
            const stopped = !(r.replication!.ioRunning && r.replication!.sqlRunning);
            svg.append(el("path", { class: `edge${stopped ? " stopped" : ""}`, d: `M${from.x + W / 2},${from.y + H} L${to.x + W / 2},${to.y}` }));
        }
    }
    const readers = state.readEndpoint.backends.filter((b) => !b.backup);
    svg.append(box(ex, 10, "endpoint", ["read endpoint (HAProxy)", `${readers.filter((b) => b.status.startsWith("UP")).length} of ${readers.length} replicas up`,
        state.readEndpoint.error ? "stats unreadable" : "reads go to the replicas"], {}));
    for (const s of servers) {
        const p = at.get(s.name)!;
        const cls = !s.reachable ? "down" : s.observedRole;
        svg.append(box(p.x, p.y, cls, lines(s), { "data-server": s.name, "data-source": String(s.name === state.source) }));
    }
    host.replaceChildren(svg);
}
