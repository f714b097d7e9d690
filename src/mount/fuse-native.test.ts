import assert from "node:assert/strict";
import { test } from "node:test";
import { SuedeError } from "../errors/errors.ts";
import { EXIT_CODES } from "../errors/exit-codes.ts";
import { loadFuse } from "./fuse-native.ts";

const noUnmount = async () => undefined;

test("without the fuse-native package, mount fails with exit code 15 and says what to install", async () => {
  await assert.rejects(loadFuse(noUnmount, "fuse-native-not-installed"), (error: unknown) => {
    assert.ok(error instanceof SuedeError);
    assert.equal(EXIT_CODES[error.code], 15);
    assert.match(error.message, /^FUSE is not available \(.*\): install the FUSE libraries \(apt-get install libfuse2 fuse3\) and fuse-native \(npm i fuse-native\)$/);
    return true;
  });
});

test("without /dev/fuse, the same error names the missing device", async () => {
  await assert.rejects(loadFuse(noUnmount, "fuse-native", "/dev/no-such-fuse"), (error: unknown) => {
    assert.ok(error instanceof SuedeError && error.code === "FUSE_UNAVAILABLE");
    assert.match(error.message, /\/dev\/no-such-fuse is missing/);
    return true;
  });
});
