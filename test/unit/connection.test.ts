import type { Connection } from "mysql2/promise";
import { query, within } from "../../components/replication/connection";

test("a failed statement's error names its first words and never a parameter the server quotes back", async () => {
    const failing = { query: async () => { throw new Error("You have an error in your SQL syntax near 'Sekrit-pw-42', SOURCE_AUTO_POSITION"); } };
    const error = await query(failing as unknown as Connection, {
        sql: "CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PASSWORD = ?", params: ["db-1", "Sekrit-pw-42"],
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe("CHANGE REPLICATION SOURCE TO failed: You have an error in your SQL syntax near '<hidden>', SOURCE_AUTO_POSITION");
});

describe("within: a promise or, after a time, something else", () => {
    afterEach(() => jest.useRealTimers());

    test("work that ends in time gives its outcome, and no timer is left", async () => {
        jest.useFakeTimers();
        const outcome = within(Promise.resolve("done"), 1000, () => "late");
        await expect(outcome).resolves.toBe("done");
        expect(jest.getTimerCount()).toBe(0);
        await expect(within(Promise.reject(new Error("no")), 1000, () => "late")).rejects.toThrow("no");
        expect(jest.getTimerCount()).toBe(0);
    });

    test("work that does not gives late()'s value, or its error, once the time has passed", async () => {
        jest.useFakeTimers();
        const never = new Promise<string>(() => undefined);
        const held = within(never, 2000, () => "held");
        jest.advanceTimersByTime(1999);
        let settled = false;
        void held.then(() => { settled = true; });
        await Promise.resolve();
        expect(settled).toBe(false);
        jest.advanceTimersByTime(1);
        await expect(held).resolves.toBe("held");
        const bounded = within(never, 500, (): never => { throw new Error("step \"swap\" did not finish"); });
        jest.advanceTimersByTime(500);
        await expect(bounded).rejects.toThrow('step "swap" did not finish');
    });
});
