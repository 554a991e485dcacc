/**
 * The SQL of the lab's data template: what the official image's first start does for the lab's
 * settings (root's password, for localhost and for any host, as the root-host setting's default '%'),
 * then the lab's own init files (the fence, MySQL 8+). MySQL runs it from `mysqld --initialize-insecure
 * --init-file`; MariaDB from `mariadb-install-db --extra-file`, in bootstrap mode, where the grant
 * tables are not loaded and account statements are refused, so it writes them as mariadb-install-db's
 * own SQL does. Nothing of it is binary-logged (neither initialisation has a binary log), so no copy
 * starts with a transaction of its own.
 */
import type { Flavor } from "./vocabulary";

/** A single-quoted SQL string literal (backslash, quote, newline and NUL escaped, as the server reads them). */
export function sqlString(value: string): string {
    return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\0/g, "\\0")}'`;
}

export function templateInitSql(flavor: Flavor, rootPassword: string, initFiles: readonly string[]): string {
    const pw = sqlString(rootPassword);
    if (flavor === "mariadb") {
        return [
            // Only root@localhost stays (mariadb-install-db also makes root@127.0.0.1 and root@::1).
            "DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';",
            "DELETE FROM mysql.proxies_priv WHERE User = 'root' AND Host <> 'localhost';",
            "UPDATE mysql.global_priv SET Priv = JSON_SET(Priv, '$.plugin', 'mysql_native_password', " +
                `'$.authentication_string', PASSWORD(${pw})) WHERE User = 'root' AND Host = 'localhost';`,
            // root@'%': the same account (all privileges, grant option), as CREATE USER and GRANT ALL would make it.
            "INSERT INTO mysql.global_priv (Host, User, Priv) SELECT '%', User, Priv FROM mysql.global_priv WHERE User = 'root' AND Host = 'localhost';",
            // GRANT PROXY ON ''@'%' TO 'root'@'%' WITH GRANT OPTION, as the image's first start grants it.
            "INSERT INTO mysql.proxies_priv (Host, User, Proxied_host, Proxied_user, With_grant) VALUES ('%', 'root', '%', '', 1);",
            ...statementLines(initFiles),
            "",
        ].join("\n");
    }
    return [
        "SET @@SESSION.SQL_LOG_BIN = 0;",
        "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';",
        `ALTER USER 'root'@'localhost' IDENTIFIED BY ${pw};`,
        `CREATE USER 'root'@'%' IDENTIFIED BY ${pw};`,
        "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;",
        "GRANT PROXY ON ''@'' TO 'root'@'%' WITH GRANT OPTION;",
        ...statementLines(initFiles),
        "",
    ].join("\n");
}

/** An init file holds statements, one per line: the files' comment and empty lines are left out. */
function statementLines(initFiles: readonly string[]): string[] {
    return initFiles.flatMap((f) => f.split("\n")).filter((line) => line.trim() !== "" && !line.trim().startsWith("--"));
}
