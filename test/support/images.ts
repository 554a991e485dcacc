/**
 * The images the Docker suites run, and what the tests may assume of them. One home for these
 * facts: the server image comes from LAB_TEST_IMAGE (the test matrix sets it per run), the proxy
 * image from LAB_PROXY_IMAGE; flavor and version follow from the image name, as the program infers
 * them (components/imageName.ts).
 */
import { imageTagVersion, inferFlavor } from "../../components/imageName";
import type { Flavor } from "../../components/replication/sql";

import testBed from "./test-bed-images.json";

/** The server images `bash scripts/testbed.sh` builds, in the order the test matrix (test/matrix.js) runs them. */
export const TEST_BED_SERVER_IMAGES: readonly string[] = testBed.servers;

/** The server image of this run: LAB_TEST_IMAGE, else the test bed's MySQL (the program's default flavor). */
export const TEST_IMAGE = process.env.LAB_TEST_IMAGE || TEST_BED_SERVER_IMAGES[0];

/** The read endpoint's image: LAB_PROXY_IMAGE, else the test bed's HAProxy. */
export const PROXY_TEST_IMAGE = process.env.LAB_PROXY_IMAGE || testBed.proxy;

/** The demo app's Node image: LAB_APP_IMAGE, else the test bed's. */
export const APP_TEST_IMAGE = process.env.LAB_APP_IMAGE || testBed.app;

function flavorOf(image: string): Flavor {
    const given = process.env.LAB_TEST_FLAVOR;
    if (given === "mysql" || given === "mariadb") return given;
    const inferred = inferFlavor(image);
    if (!inferred) throw new Error(`cannot tell the flavor of LAB_TEST_IMAGE=${image}; set LAB_TEST_FLAVOR to mysql or mariadb`);
    return inferred;
}

/** The test server image's flavor and tag version, as the program reads them from its name. */
export const TEST_SERVER: { readonly image: string; readonly flavor: Flavor; readonly version: string | undefined } = {
    image: TEST_IMAGE,
    flavor: flavorOf(TEST_IMAGE),
    version: imageTagVersion(TEST_IMAGE),
};

/** A short label for test names and logs, e.g. "mysql 9.7". */
export const TEST_SERVER_LABEL = `${TEST_SERVER.flavor} ${TEST_SERVER.version ?? "(untagged)"}`;
