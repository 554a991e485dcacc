/** The app's one table. The lab creates it as root (components/demoApp.ts); the app only reads and inserts. */
export const INFORMATION_TABLE = "information";

export function informationTableDdl(database: string): string {
    const db = "`" + database.replace(/`/g, "``") + "`";
    return `CREATE TABLE IF NOT EXISTS ${db}.\`${INFORMATION_TABLE}\` (` +
        "id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, address VARCHAR(200) NOT NULL, " +
        "created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))";
}
