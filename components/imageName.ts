/** What an image reference says about the server in it. Pure: the tools and tests use it without the Pulumi SDK. */
import type { Flavor } from "./replication/sql";

/** "mariadb" when the image's repository name says so, "mysql" for mysql/percona, else undefined. */
export function inferFlavor(image: string): Flavor | undefined {
    const repo = imageRepository(image).split("/").pop() ?? "";
    if (repo.includes("mariadb")) return "mariadb";
    if (repo.includes("mysql") || repo.includes("percona")) return "mysql";
    return undefined;
}

/** The numeric version in an image tag (`mysql:8.0.22-debian` gives "8.0.22"), if there is one. */
export function imageTagVersion(image: string): string | undefined {
    const withoutDigest = image.split("@")[0];
    const tag = withoutDigest.slice(imageRepository(image).length + 1);
    return /^(\d+(?:\.\d+){0,2})/.exec(tag)?.[1];
}

function imageRepository(image: string): string {
    const withoutDigest = image.split("@")[0];
    const lastSlash = withoutDigest.lastIndexOf("/");
    const colon = withoutDigest.indexOf(":", lastSlash + 1);
    return colon === -1 ? withoutDigest : withoutDigest.slice(0, colon);
}

/** Whether a tag version (imageTagVersion) names a server before 8.0; undefined ("latest") is a current one. */
export function before8(imageVersion: string | undefined): boolean {
    return imageVersion !== undefined && Number(imageVersion.split(".")[0]) < 8;
}

/**
 * Whether a tag version names a server before `min` (both "a.b.c"). A part the tag leaves out is taken
 * as its newest (mariadb:10.5 is 10.5's latest release); undefined ("latest") is never before.
 */
export function versionBefore(imageVersion: string | undefined, min: string): boolean {
    if (imageVersion === undefined) return false;
    const have = imageVersion.split(".").map(Number);
    const want = min.split(".").map(Number);
    for (let i = 0; i < want.length; i++) {
        if (have[i] === undefined) return false;
        if (have[i] !== want[i]) return have[i] < want[i];
    }
    return false;
}
