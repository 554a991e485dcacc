/**
 * The SDK's closure parser (@pulumi/pulumi/runtime/closure/parseFunction), memoised for the unit
 * suites. Every program run under mocks loads a fresh SDK, as each `pulumi up` is a new process, and
 * serializes every dynamic provider again, parsing the same functions with TypeScript each time.
 * What the parser returns depends only on the function's text and on the names on the global object
 * (it treats those as built-ins, not to be captured), so both make the key. The results are never
 * changed by the serializer, so one copy serves every run of a worker.
 */
const PARSE_FUNCTION = "@pulumi/pulumi/runtime/closure/parseFunction";

type Parser = { parseFunction(funcString: string): unknown; isNativeFunction(funcString: string): boolean };

let memoised: Parser | undefined;

function memoisedParser(): Parser {
    if (memoised) return memoised;
    const real = jest.requireActual(PARSE_FUNCTION) as Parser;
    const results = new Map<string, unknown>();
    memoised = {
        parseFunction(funcString) {
            const key = `${Object.getOwnPropertyNames(globalThis).sort().join(",")}\0${funcString}`;
            if (!results.has(key)) results.set(key, real.parseFunction(funcString));
            return results.get(key);
        },
        isNativeFunction: (funcString) => real.isNativeFunction(funcString),
    };
    return memoised;
}

/** In the module registry being built (inside jest.isolateModules), the SDK's closure parser is the memoised one. */
export function useMemoisedClosureParser(): void {
    jest.doMock(PARSE_FUNCTION, memoisedParser);
}
