/**
 * The bench's lag chart: a Vega-Lite line chart, one line per replica, rendered to SVG headless
 * (vega's SVG renderer needs no browser and no canvas).
 *
 * vega and vega-lite 6 are ES modules with top-level await, which `require` cannot load: they are
 * loaded with a native dynamic import that TypeScript's CommonJS output would otherwise turn into one.
 * scripts/chart.ts is the command that re-renders a chart from a bench's lag CSV.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseCsv } from "./csv";

/** One point of the chart. */
export interface LagPoint {
    /** Seconds since the bench started. */
    readonly t: number;
    /** The line it belongs to, e.g. "server 1 (id 2)". */
    readonly replica: string;
    /** Milliseconds; points without a value are left out. */
    readonly lagMs: number;
}

/** The Vega-Lite spec of the chart (pure: tested without rendering). */
export function lagChartSpec(points: readonly LagPoint[], title = "Replica lag during the bench"): Record<string, unknown> {
    return {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: { text: title, subtitle: "heartbeat lag: how long the oldest heartbeat not yet on the replica had been acknowledged by the source" },
        width: 720,
        height: 320,
        background: "white",
        data: { values: points.filter((p) => Number.isFinite(p.lagMs) && Number.isFinite(p.t)).map((p) => ({ ...p })) },
        mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
        encoding: {
            x: { field: "t", type: "quantitative", title: "seconds since start" },
            y: { field: "lagMs", type: "quantitative", title: "lag (ms)" },
            color: { field: "replica", type: "nominal", title: "replica", legend: { labelLimit: 400 } },
        },
    };
}

// A native import(): TypeScript compiles `import()` to `require()` under CommonJS, which cannot load vega 6.
const importEsm = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<any>;

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(vlSpec: Record<string, unknown>): Promise<string> {
    const vl = await importEsm("vega-lite");
    const vega = await importEsm("vega");
    const view = new vega.View(vega.parse(vl.compile(vlSpec).spec), { renderer: "none" });
    try {
        return await view.toSVG();
    } finally {
        view.finalize();
    }
}

/** Reads lag points from a bench lag CSV (columns t_s, replica, heartbeat_lag_ms). */
export function lagPointsFromCsv(text: string): LagPoint[] {
    return parseCsv(text).map((r) => ({
        t: Number(r.t_s),
        replica: r.replica,
        lagMs: r.heartbeat_lag_ms === "" ? NaN : Number(r.heartbeat_lag_ms),
    }));
}

/** Renders and writes the lag chart; returns the file written. */
export async function writeLagSvg(file: string, points: readonly LagPoint[], title?: string): Promise<string> {
    const svg = await renderSvg(lagChartSpec(points, title));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, svg);
    return file;
}
