/** Small statistics for the bench: nearest-rank percentiles and summaries. Pure. */

/**
 * The p-th percentile (0 < p <= 100) by the nearest-rank method: the smallest value with at least p%
 * of the values at or below it. Always one of the values; NaN for none. Non-finite values are ignored.
 */
export function percentile(values: readonly number[], p: number): number {
    if (!(p > 0 && p <= 100)) throw new Error(`percentile must be in (0, 100], got ${p}`);
    const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
    if (sorted.length === 0) return NaN;
    return sorted[Math.ceil((p / 100) * sorted.length) - 1];
}

export interface Summary {
    readonly n: number;
    readonly p50: number;
    readonly p95: number;
    readonly max: number;
}

export function summarise(values: readonly number[]): Summary {
    const finite = values.filter(Number.isFinite);
    return {
        n: finite.length,
        p50: percentile(finite, 50),
        p95: percentile(finite, 95),
        max: finite.length === 0 ? NaN : Math.max(...finite),
    };
}
