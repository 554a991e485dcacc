/** CSV as RFC 4180 says: comma-separated, CRLF-free "\n" lines, fields quoted when they need it. */
import * as fs from "node:fs";
import * as path from "node:path";

export type CsvValue = string | number | boolean | null | undefined;

/** One field: empty for null/undefined/NaN, quoted (with doubled quotes) when it holds , " or a line break. */
export function csvField(v: CsvValue): string {
    if (v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v))) return "";
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly CsvValue[])[]): string {
    return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\n") + "\n";
}

/** Writes a CSV file, creating its directory. */
export function writeCsv(file: string, header: readonly string[], rows: readonly (readonly CsvValue[])[]): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, toCsv(header, rows));
}

/** Parses what toCsv writes (quoted fields included) into records keyed by header. */
export function parseCsv(text: string): Record<string, string>[] {
    const rows: string[][] = [];
    let row: string[] = [];
    let field = "";
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
        const ch = text[i];
        if (quoted) {
            if (ch === '"' && text[i + 1] === '"') {
                field += '"';
                i++;
            } else if (ch === '"') {
                quoted = false;
            } else {
                field += ch;
            }
        } else if (ch === '"') {
            quoted = true;
        } else if (ch === ",") {
            row.push(field);
            field = "";
        } else if (ch === "\n" || ch === "\r") {
            if (ch === "\r" && text[i + 1] === "\n") i++;
            row.push(field);
            rows.push(row);
            row = [];
            field = "";
        } else {
            field += ch;
        }
    }
    if (field !== "" || row.length > 0) {
        row.push(field);
        rows.push(row);
    }
    const [header, ...body] = rows;
    if (!header) return [];
    return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ""])));
}
