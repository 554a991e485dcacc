/** Plain aligned text tables, with optional colour that never counts towards a column's width. */

export type Colour = "green" | "red" | "yellow" | "dim";

export interface Cell {
    readonly text: string;
    readonly colour?: Colour;
}

export interface Column {
    readonly header: string;
    /** Numbers read best right-aligned. Defaults to left. */
    readonly align?: "left" | "right";
}

const ANSI: Record<Colour, [string, string]> = {
    green: ["\x1b[32m", "\x1b[39m"],
    red: ["\x1b[31m", "\x1b[39m"],
    yellow: ["\x1b[33m", "\x1b[39m"],
    dim: ["\x1b[2m", "\x1b[22m"],
};

/** Display width: code points, not UTF-16 units ("…" is one column). */
function width(s: string): number {
    return [...s].length;
}

function pad(s: string, w: number, align: "left" | "right"): string {
    const fill = " ".repeat(Math.max(0, w - width(s)));
    return align === "right" ? fill + s : s + fill;
}

/**
 * Formats rows under headers, columns two spaces apart, no trailing spaces. Colour (ANSI) is applied
 * only when `colour` is true, after padding, so columns line up either way.
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly (Cell | string)[])[], colour = false): string {
    const cells = rows.map((r) => columns.map((_, i) => {
        const c = r[i] ?? "";
        return typeof c === "string" ? { text: c } : c;
    }));
    const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i].text))));
    const line = (parts: Cell[]) => parts.map((c, i) => {
        const text = pad(c.text, i === parts.length - 1 && (columns[i].align ?? "left") === "left" ? 0 : widths[i], columns[i].align ?? "left");
        return colour && c.colour ? ANSI[c.colour][0] + text + ANSI[c.colour][1] : text;
    }).join("  ").replace(/\s+$/, "");
    return [line(columns.map((c) => ({ text: c.header }))), ...cells.map(line)].join("\n") + "\n";
}

/** `s` cut to `max` characters, ending in "…" when cut. */
export function shorten(s: string, max = 40): string {
    const chars = [...s];
    return chars.length <= max ? s : chars.slice(0, max).join("") + "…";
}

/** True when colour may be used on this stream: a TTY, and NO_COLOR unset. */
export function colourWanted(stream: NodeJS.WriteStream = process.stdout): boolean {
    return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}
