/**
 * The SQL of the lab's data template, run by `mysqld --initialize-insecure --init-file` (MySQL only):
 * what the official image's first start does for the lab's settings (root's password, for localhost
 * and for any host, as MYSQL_ROOT_HOST's default '%'), then the lab's own init files (the fence).
 * Nothing of it is binary-logged, so no copy starts with a transaction of its own.
 */

/** A single-quoted SQL string literal (backslash, quote, newline and NUL escaped, as the server reads them). */
export function sqlString(value: string): string {
    return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n").replace(/\r/g, "\\r").replace(/\0/g, "\\0")}'`;
}

export function templateInitSql(rootPassword: string, initFiles: readonly string[]): string {
    const pw = sqlString(rootPassword);
    return [
        "SET @@SESSION.SQL_LOG_BIN = 0;",
        "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';",
        `ALTER USER 'root'@'localhost' IDENTIFIED BY ${pw};`,
        `CREATE USER 'root'@'%' IDENTIFIED BY ${pw};`,
        "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;",
        "GRANT PROXY ON ''@'' TO 'root'@'%' WITH GRANT OPTION;",
        // An init file holds statements, one per line: the files' comment lines are left out.
        ...initFiles.flatMap((f) => f.split("\n")).filter((line) => line.trim() !== "" && !line.trim().startsWith("--")),
        "",
    ].join("\n");
}
