/** The bundle's entry point (app/bundle.ts). */
import { describeError } from "./db";
import { main } from "./server";

main().catch((err) => {
    console.error(`demo app failed to start: ${describeError(err)}`);
    process.exit(1);
});
