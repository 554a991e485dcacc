/** Issue 5, scenario 7: a bad replicaCount fails the up with a clear config error, and nothing is created. */
import { describeWithDocker } from "../support/docker";
import { TEST_IMAGE } from "../support/images";
import { forgetStack, labelledObjects, lanePort, laneStack, liveStack, tearDownStack } from "../support/harness/liveStack";

jest.setTimeout(120_000);

const STACK = laneStack("livetest-badconfig");

describeWithDocker("live: config errors (issue 5 scenario 7)", () => {
    const stack = liveStack({
        stack: STACK,
        config: { image: TEST_IMAGE, pullImage: false, readEndpoint: false, basePort: lanePort(24350), readEndpointPort: lanePort(24398) },
    });

    beforeAll(async () => {
        await forgetStack(stack);
    });

    afterAll(async () => {
        await tearDownStack(stack);
    });

    test("7. up with replicaCount -1: an error naming the key, the value and the range; nothing created", async () => {
        const up = stack.up({ replicaCount: -1 });
        await expect(up).rejects.toThrow(/mysql-replicas:replicaCount: "-1" is not allowed; expected an integer from 0 to 9/);
        expect(await labelledObjects(STACK)).toEqual({ containers: [], volumes: [], networks: [] });
        // Nothing but (at most) the stack's own root resource made it into the state.
        const kinds = (await stack.resources()).map((r) => r.type);
        expect(kinds.filter((t) => t !== "pulumi:pulumi:Stack")).toEqual([]);
    });
});
