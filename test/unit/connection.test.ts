import type { Connection } from "mysql2/promise";
import { query } from "../../components/replication/connection";

test("a failed statement's error names its first words and never a parameter the server quotes back", async () => {
    const failing = { query: async () => { throw new Error("You have an error in your SQL syntax near 'Sekrit-pw-42', SOURCE_AUTO_POSITION"); } };
    const error = await query(failing as unknown as Connection, {
        sql: "CHANGE REPLICATION SOURCE TO SOURCE_HOST = ?, SOURCE_PASSWORD = ?", params: ["db-1", "Sekrit-pw-42"],
    }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe("CHANGE REPLICATION SOURCE TO failed: You have an error in your SQL syntax near '<hidden>', SOURCE_AUTO_POSITION");
});
